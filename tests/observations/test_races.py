"""What happens when requests race: the deadline, a second tab, a double click."""

from __future__ import annotations

import threading
from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.core.db import utcnow
from app.extensions import db as _db
from app.observations import operations, receipts
from app.observations.models import Observation, ObservationState
from app.rounds.models import ProtocolCounter
from tests.fixtures.factories import csrf_token
from tests.observations.test_submit import _new_form, _observations


def test_a_submission_that_arrived_in_time_is_not_made_late_by_waiting(db, scene, monkeypatch):
    scene.round.closes_at = utcnow() + timedelta(minutes=30)
    db.session.commit()
    path, csrf, form_token = _new_form(scene.client, scene.round.id)
    with time_machine.travel(scene.round.closes_at - timedelta(seconds=1), tick=False) as clock:
        slow_save = operations.save_draft

        def waits_for_the_database(*args, **kwargs):
            slow_save(*args, **kwargs)
            clock.shift(timedelta(seconds=10))  # the write lock was busy

        monkeypatch.setattr(operations, "save_draft", waits_for_the_database)
        response = scene.client.post(
            path,
            data={
                "csrf_token": csrf,
                "form_token": form_token,
                "kind": "observation",
                "title": "All'ultimo secondo",
                "body": "Testo",
                "action": "submit",
            },
        )
    assert response.status_code == 302
    [observation] = _observations(db)
    assert observation.state is ObservationState.SUBMITTED and not observation.late


def test_a_save_from_another_tab_between_loading_and_submitting_registers_nothing(app, db, scene):
    path, data = _draft_request(scene)
    response = scene.client.post(path, data=data)
    [draft] = _observations(db)
    stale = db.session.get(Observation, draft.id)
    assert stale.lock_version  # loaded as it was, before the other tab saves
    with app.app_context():  # the other tab saves new text
        other = _db.session.get(Observation, draft.id)
        operations.save_draft(
            _db.session,
            other,
            user=other.author,
            title="Versione B",
            body_html="<p>B</p>",
            kind=other.kind,
            proposed_text=None,
            consent_public_name=False,
        )
        _db.session.commit()
    try:
        operations.submit(db.session, stale, actor=scene.referent)
    except operations.ChangedMeanwhile:
        pass
    else:
        raise AssertionError("a stale draft was registered")
    stored = db.session.get(Observation, draft.id)
    assert stored.is_draft and stored.title == "Versione B"
    assert db.session.get(ProtocolCounter, scene.round.id).last_number == 0
    assert response.status_code == 302


def _draft_request(scene):
    path, csrf, form_token = _new_form(scene.client, scene.round.id)
    return path, {
        "csrf_token": csrf,
        "form_token": form_token,
        "kind": "observation",
        "title": "Versione A",
        "body": "A",
        "action": "save",
    }


def _at_once(app, count, send):
    barrier = threading.Barrier(count)
    answers = []

    def run():
        barrier.wait()
        answers.append(send())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_a_double_click_on_a_new_form_ends_on_one_observation(app, db, scene):
    path, csrf, form_token = _new_form(scene.client, scene.round.id)
    data = {
        "csrf_token": csrf,
        "form_token": form_token,
        "kind": "observation",
        "title": "Doppio clic",
        "body": "Testo",
        "action": "submit",
    }
    answers = _at_once(app, 2, lambda: scene.client.post(path, data=data))
    assert sorted(a.status_code for a in answers) == [302, 302]
    [observation] = _observations(db)
    assert observation.protocol_number == 1
    assert receipts.digest(observation) == observation.digest


def test_a_double_click_on_a_draft_ends_on_its_receipt(app, db, scene):
    path, data = _draft_request(scene)
    scene.client.post(path, data=data)
    [draft] = _observations(db)
    edit = f"/observations/{draft.id}/edit"
    data = {
        "csrf_token": csrf_token(scene.client, edit),
        "kind": "observation",
        "title": "Titolo",
        "body": "Testo",
        "action": "submit",
        "lock_version": str(draft.lock_version),
    }
    answers = _at_once(app, 2, lambda: scene.client.post(edit, data=data))
    assert all(a.status_code in (302, 409) for a in answers), [a.status_code for a in answers]
    assert any(a.headers.get("Location") == f"/observations/{draft.id}/" for a in answers)
    db.session.expire_all()
    stored = db.session.scalars(select(Observation)).one()
    assert stored.protocol_number == 1 and receipts.digest(stored) == stored.digest
