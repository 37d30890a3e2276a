"""Staff record observations that arrived by PEC, letter, e-mail or in a Tavolo meeting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.db import utcnow
from app.core.timezones import utc_to_local
from app.notifications.operations import deliver_due
from app.observations.models import Channel, Observation
from tests.fixtures.factories import csrf_token
from tests.observations.test_files import MINIMAL_PDF


def _intake(client, round_, organisation, **overrides):
    path = f"/rounds/{round_.id}/intake"
    received = utc_to_local(utcnow() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "csrf_token": csrf_token(client, path),
        "organisation_id": str(organisation.id),
        "channel": "pec",
        "received_at": received,
        "signatory": "Il Sindaco",
        "section": "",
        "paragraph": "",
        "kind": "observation",
        "title": "Osservazioni del Comune",
        "body": "Sintesi della lettera protocollata.",
        "original": (__import__("io").BytesIO(MINIMAL_PDF), "lettera.pdf"),
        **overrides,
    }
    return client.post(path, data=data, content_type="multipart/form-data")


def test_a_moderator_records_a_pec_with_its_original(db, smtp, logged_in, make_round, make_comune):
    round_ = make_round()
    comune = make_comune("Comune di Legnano", pec="protocollo@pec.comune.legnano.example")
    client, moderator = logged_in(Role.MODERATOR)
    response = _intake(client, round_, comune)
    assert response.status_code == 302
    observation = db.session.scalars(select(Observation)).one()
    assert observation.channel is Channel.PEC
    assert observation.protocol_code == f"{round_.protocol_prefix}-0001"
    assert observation.author_id == moderator.id and observation.organisation_id == comune.id
    assert observation.received_at < observation.submitted_at
    assert observation.attachments[0].content_type == "application/pdf"
    deliver_due(db.session)
    assert len(smtp.inbox.to("protocollo@pec.comune.legnano.example")) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"original": None}, "original"),
        ({"received_at": "in two days"}, "received_at"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_intake_is_refused_and_nothing_stored(
    db, logged_in, make_round, make_comune, overrides, field
):
    round_ = make_round()
    client, _ = logged_in(Role.MODERATOR)
    if overrides.get("received_at") == "in two days":
        future = utc_to_local(utcnow() + timedelta(days=2))
        overrides = {"received_at": future.strftime("%Y-%m-%dT%H:%M")}
    if overrides.get("original", 1) is None:
        overrides = {**overrides}
        overrides.pop("original")
        path = f"/rounds/{round_.id}/intake"
        response = client.post(
            path,
            data={
                "csrf_token": csrf_token(client, path),
                "organisation_id": str(make_comune().id),
                "channel": "letter",
                "kind": "observation",
                "received_at": "2026-01-01T10:00",
                "title": "T",
                "body": "B",
                "section": "",
            },
        )
    else:
        response = _intake(client, round_, make_comune(), **overrides)
    assert response.status_code in (200, 422)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalars(select(Observation)).all() == []


def test_a_letter_received_after_the_close_needs_late_acceptance(
    db, logged_in, make_round, make_comune
):
    now = utcnow()
    round_ = make_round(opens_at=now - timedelta(days=10), closes_at=now - timedelta(days=1))
    client, _ = logged_in(Role.MODERATOR)
    late = utc_to_local(now - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    refused = _intake(client, round_, make_comune(), received_at=late, channel="letter")
    assert refused.status_code == 422
    on_time = utc_to_local(now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    accepted = _intake(client, round_, make_comune(), received_at=on_time, channel="letter")
    assert accepted.status_code == 302
    assert not db.session.scalars(select(Observation)).one().late


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.EDITOR])
def test_only_moderators_and_admins_record_intake(logged_in, make_round, make_comune, role):
    round_ = make_round()
    client, _ = logged_in(role)
    assert client.get(f"/rounds/{round_.id}/intake").status_code == 403


@pytest.mark.parametrize("state", ["closed", "in_review"])
def test_an_on_time_pec_can_be_recorded_after_the_close(
    db, logged_in, make_round, make_comune, state
):
    from app.rounds import operations as rounds
    from app.rounds.models import RoundState

    now = utcnow()
    round_ = make_round(opens_at=now - timedelta(days=10), closes_at=now + timedelta(hours=1))
    rounds.change_state(db.session, round_, "close", actor=None, now=now)
    round_.closes_at = now - timedelta(hours=1)
    if state == "in_review":
        rounds.change_state(db.session, round_, "start_review", actor=None)
    db.session.commit()
    assert round_.state in (RoundState.CLOSED, RoundState.IN_REVIEW)
    client, _ = logged_in(Role.MODERATOR)
    on_time = utc_to_local(now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = _intake(client, round_, make_comune(), received_at=on_time)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert not db.session.scalars(select(Observation)).one().late


def test_staff_pick_the_paragraph_from_the_text_and_see_one_confirmation(
    db, logged_in, make_round, make_comune
):
    round_ = make_round()
    comune = make_comune("Comune di Legnano")
    client, _ = logged_in(Role.MODERATOR)
    page = client.get(f"/rounds/{round_.id}/intake").get_data(as_text=True)
    assert "4f2a9c" not in page and "Chiave del paragrafo" not in page
    from app.plans.tree import load_tree

    node, paragraph = list(load_tree(db.session, round_.version).paragraphs())[1]
    option = f'<option value="{paragraph.key}">{node.section.number} {node.section.title}, '
    assert option + "paragrafo 2: Ridurre la burocrazia.</option>" in page
    response = _intake(client, round_, comune, paragraph=paragraph.key)
    assert response.status_code == 302
    observation = db.session.scalars(select(Observation)).one()
    assert observation.paragraph_id == paragraph.id
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    notices = [n for n in receipt.split('class="alert ')[1:] if observation.protocol_code in n]
    assert len(notices) == 1  # the receipt's own notice, no second message on top


def test_a_paragraph_not_in_the_text_is_refused(db, logged_in, make_round, make_comune):
    round_ = make_round()
    client, _ = logged_in(Role.MODERATOR)
    response = _intake(client, round_, make_comune("Comune di Legnano"), paragraph="ffffff")
    assert response.status_code == 422
    assert db.session.scalars(select(Observation)).all() == []
