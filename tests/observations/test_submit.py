"""Writing, submitting and receiving a receipt, through the web form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.core.db import utcnow
from app.notifications.operations import deliver_due
from app.observations import operations, receipts
from app.observations.models import Observation, ObservationState, Target
from tests.fixtures.factories import csrf_token


def _new_form(client, round_id, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    path = f"/rounds/{round_id}/observations/new" + (f"?{query}" if query else "")
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="form_token"', html
    )
    return path, csrf_token(client, path), token.group(1)


def _post_new(client, round_id, *, action="submit", data=None, **params):
    path, csrf, form_token = _new_form(client, round_id, **params)
    fields = {
        "csrf_token": csrf,
        "form_token": form_token,
        "kind": "observation",
        "title": "Più trasporto pubblico",
        "body": "Chiediamo più corse serali.\n\nGrazie.",
        "action": action,
        **(data or {}),
    }
    return client.post(path, data=fields, content_type="multipart/form-data"), fields, path


def _observations(db):
    db.session.expire_all()
    return db.session.scalars(select(Observation).order_by(Observation.id)).all()


def test_a_referent_submits_and_gets_a_receipt(db, smtp, scene):
    response, _, _ = _post_new(scene.client, scene.round.id)
    assert response.status_code == 302
    [observation] = _observations(db)
    assert observation.state is ObservationState.SUBMITTED
    assert observation.protocol_code == f"{scene.round.protocol_prefix}-0001"
    assert observation.organisation_id == scene.organisation.id
    assert observation.body_html == "<p>Chiediamo più corse serali.</p><p>Grazie.</p>"
    receipt = scene.client.get(response.headers["Location"]).get_data(as_text=True)
    assert observation.protocol_code in receipt and observation.digest in receipt
    code = receipts.verification_code(observation.protocol_code)
    assert code in receipt

    deliver_due(db.session)
    [mail] = smtp.inbox.to(scene.referent.email)
    assert observation.protocol_code in mail["Subject"]
    text = smtp.inbox.text(mail)
    assert code in text and observation.digest in text


def test_the_digest_can_be_recomputed_from_what_was_stored(db, scene):
    _post_new(scene.client, scene.round.id)
    [observation] = _observations(db)
    assert receipts.digest(observation) == observation.digest
    assert len(observation.digest) == 64


def test_a_double_submission_makes_one_observation(db, scene):
    path, csrf, form_token = _new_form(scene.client, scene.round.id)
    data = {
        "csrf_token": csrf,
        "form_token": form_token,
        "kind": "observation",
        "title": "Titolo",
        "body": "Testo",
        "action": "submit",
    }
    first = scene.client.post(path, data=data)
    second = scene.client.post(path, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_observations(db)) == 1


def test_submitting_a_draft_twice_lands_on_the_same_receipt(db, scene):
    _response, _, _ = _post_new(scene.client, scene.round.id, action="save")
    [draft] = _observations(db)
    assert draft.state is ObservationState.DRAFT and draft.protocol_code is None
    edit = f"/observations/{draft.id}/edit"
    data = {
        "csrf_token": csrf_token(scene.client, edit),
        "kind": "observation",
        "title": "Titolo",
        "body": "Testo",
        "action": "submit",
        "lock_version": str(draft.lock_version),
    }
    first = scene.client.post(edit, data=data)
    second = scene.client.post(edit, data=data)
    assert first.headers["Location"] == second.headers["Location"] == f"/observations/{draft.id}/"
    assert _observations(db)[0].protocol_number == 1


def test_numbers_are_sequential_per_round(db, scene, make_round):
    for _ in range(3):
        _post_new(scene.client, scene.round.id)
    numbers = [o.protocol_number for o in _observations(db)]
    assert numbers == [1, 2, 3]


@pytest.mark.parametrize(
    ("data", "field"),
    [({"title": ""}, "title"), ({"body": ""}, "body"), ({"body": "x" * 40_000}, "body")],
)
def test_incomplete_or_oversized_text_is_refused_and_kept_as_draft(db, scene, data, field):
    response, _, _ = _post_new(scene.client, scene.round.id, data=data)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    observations = _observations(db)
    assert all(o.state is ObservationState.DRAFT for o in observations)
    assert (
        db.session.scalar(
            select(func.count(Observation.id)).where(Observation.protocol_code.is_not(None))
        )
        == 0
    )


def test_script_is_removed_from_the_text(db, scene):
    _post_new(
        scene.client,
        scene.round.id,
        data={"body": '<script>alert(1)</script><img src=x onerror="alert(2)">Testo'},
    )
    [observation] = _observations(db)
    # What was typed is kept as text, shown and never run: no element comes out of it.
    assert "<script" not in observation.body_html and "<img" not in observation.body_html
    assert "&lt;script&gt;" in observation.body_html and "&lt;img" in observation.body_html


def test_commenting_on_a_passage_keeps_its_words_and_offsets(db, scene):
    paragraph = scene.paragraph(db, 0)
    words = paragraph.text.split()[1:3]
    quote = " ".join(words)
    start = paragraph.text.index(quote)
    _post_new(
        scene.client,
        scene.round.id,
        paragraph=paragraph.key,
        quote=quote,
        start=start,
        end=start + len(quote),
    )
    [observation] = _observations(db)
    assert observation.target is Target.PASSAGE
    assert observation.paragraph_id == paragraph.id
    assert paragraph.text[observation.quote_start : observation.quote_end] == quote


def test_wrong_offsets_are_corrected_from_the_words(db, scene):
    paragraph = scene.paragraph(db, 0)
    quote = paragraph.text.split()[1]
    _post_new(scene.client, scene.round.id, paragraph=paragraph.key, quote=quote, start=0, end=2)
    [observation] = _observations(db)
    assert paragraph.text[observation.quote_start : observation.quote_end] == quote


def test_a_quote_that_is_not_in_the_paragraph_is_refused(db, scene):
    paragraph = scene.paragraph(db, 0)
    response = scene.client.get(
        f"/rounds/{scene.round.id}/observations/new?paragraph={paragraph.key}&quote=parole+inventate"
    )
    assert response.status_code == 302
    assert _observations(db) == []


def test_a_section_of_another_plan_is_refused(db, scene, make_version):
    from app.plans.models import VersionStatus
    from app.plans.tree import load_tree

    other = make_version(status=VersionStatus.FROZEN)
    foreign = next(load_tree(db.session, other).walk()).section
    response = scene.client.get(f"/rounds/{scene.round.id}/observations/new?section={foreign.key}x")
    assert response.status_code == 302
    assert _observations(db) == []


def test_an_ineligible_referent_cannot_write(db, app, scene, make_comune, make_referent):
    from app.stakeholders.models import OrganisationKind
    from tests.fixtures.factories import login

    university = make_comune("Università", kind=OrganisationKind.UNIVERSITA)
    client = app.test_client()
    login(client, make_referent(university))
    assert client.get(f"/rounds/{scene.round.id}/observations/new").status_code == 403
    page = client.get(f"/rounds/{scene.round.id}/").get_data(as_text=True)
    assert "non è tra quelle che partecipano" in page
    assert _observations(db) == []


class TestTheDeadline:
    def _draft(self, db, scene):
        # A deadline within the session's lifetime (sessions expire after 8 idle hours).
        scene.round.closes_at = utcnow() + timedelta(minutes=30)
        db.session.commit()
        _post_new(scene.client, scene.round.id, action="save")
        return _observations(db)[0]

    def _submit(self, scene, draft):
        edit = f"/observations/{draft.id}/edit"
        data = {
            "csrf_token": csrf_token(scene.client, edit),
            "kind": "observation",
            "title": "Ultimo minuto",
            "body": "Testo finale",
            "action": "submit",
            "lock_version": str(draft.lock_version),
        }
        return scene.client.post(edit, data=data)

    def test_one_second_before_the_close_is_accepted(self, db, scene):
        draft = self._draft(db, scene)
        with time_machine.travel(scene.round.closes_at - timedelta(seconds=1), tick=False):
            assert self._submit(scene, draft).status_code == 302
        assert _observations(db)[0].state is ObservationState.SUBMITTED
        assert not _observations(db)[0].late

    def test_one_second_after_is_refused_and_the_text_kept(self, db, scene):
        draft = self._draft(db, scene)
        with time_machine.travel(scene.round.closes_at + timedelta(seconds=1), tick=False):
            response = self._submit(scene, draft)
        assert response.status_code == 422
        assert "chiusa" in response.get_data(as_text=True) or "closed" in response.get_data(
            as_text=True
        )
        [kept] = _observations(db)
        assert kept.state is ObservationState.DRAFT
        assert kept.title == "Ultimo minuto" and "Testo finale" in kept.body_text

    def test_late_is_accepted_and_flagged_where_the_round_allows(self, db, scene):
        scene.round.accept_late = True
        db.session.commit()
        draft = self._draft(db, scene)
        with time_machine.travel(scene.round.closes_at + timedelta(seconds=1), tick=False):
            assert self._submit(scene, draft).status_code == 302
        assert _observations(db)[0].late


def test_withdrawal_is_recorded_not_deleted(db, scene):
    _response, _, _ = _post_new(scene.client, scene.round.id)
    [observation] = _observations(db)
    receipt = f"/observations/{observation.id}/"
    token = csrf_token(scene.client, receipt)
    scene.client.post(
        f"{receipt}withdraw", data={"csrf_token": token, "reason": "Errore", "confirmed": "1"}
    )
    [withdrawn] = _observations(db)
    assert withdrawn.state is ObservationState.WITHDRAWN
    assert withdrawn.withdrawal_reason == "Errore" and withdrawn.protocol_number == 1


def test_no_withdrawal_after_the_close(db, scene):
    scene.round.closes_at = utcnow() + timedelta(minutes=30)
    db.session.commit()
    _post_new(scene.client, scene.round.id)
    [observation] = _observations(db)
    receipt = f"/observations/{observation.id}/"
    token = csrf_token(scene.client, receipt)
    with time_machine.travel(scene.round.closes_at + timedelta(minutes=1), tick=False):
        scene.client.post(f"{receipt}withdraw", data={"csrf_token": token, "confirmed": "1"})
    assert _observations(db)[0].state is ObservationState.SUBMITTED


def test_a_correction_is_a_new_observation_that_references_the_first(db, scene):
    _post_new(scene.client, scene.round.id)
    [original] = _observations(db)
    receipt = f"/observations/{original.id}/"
    response = scene.client.post(
        f"{receipt}correct", data={"csrf_token": csrf_token(scene.client, receipt)}
    )
    draft_id = int(re.search(r"/observations/(\d+)/edit", response.headers["Location"]).group(1))
    draft = db.session.get(Observation, draft_id)
    assert draft.corrects_id == original.id and draft.is_draft
    assert draft.title == original.title


def test_a_submitted_observation_cannot_be_changed(db, scene):
    from app.observations.models import ImmutableObservationError

    _post_new(scene.client, scene.round.id)
    [observation] = _observations(db)
    observation.body_html = "<p>riscritto</p>"
    with pytest.raises(ImmutableObservationError):
        db.session.commit()
    db.session.rollback()
    assert "riscritto" not in _observations(db)[0].body_html


def test_my_observations_lists_mine_and_my_organisations(db, scene, logged_in, app):
    _post_new(scene.client, scene.round.id)
    _post_new(scene.client, scene.round.id, action="save", data={"title": "Bozza privata"})
    page = scene.client.get("/observations/mine").get_data(as_text=True)
    assert f"{scene.round.protocol_prefix}-0001" in page and "Bozza privata" in page


class TestImmutabilityBelowTheViews:
    """What no route does, the ORM refuses too."""

    @pytest.fixture
    def submitted(self, scene, make_observation):
        from tests.observations.test_files import MINIMAL_PDF

        return make_observation(scene.round, scene.referent, files=[("a.pdf", MINIMAL_PDF)])

    def test_an_attachment_cannot_be_removed_from_the_collection(self, db, scene, submitted):
        from app.observations.models import ImmutableObservationError

        observation = submitted
        observation.attachments.remove(observation.attachments[0])
        with pytest.raises(ImmutableObservationError):
            db.session.commit()
        db.session.rollback()

    def test_an_attachment_cannot_be_moved_to_a_draft(self, db, scene, submitted):
        from app.observations.models import ImmutableObservationError

        observation = submitted
        draft = operations.start_draft(
            db.session, scene.round, author=scene.referent, anchor=operations.Anchor(Target.PLAN)
        )
        observation.attachments[0].observation = draft
        with pytest.raises(ImmutableObservationError):
            db.session.commit()
        db.session.rollback()

    def test_a_withdrawal_cannot_be_undone(self, db, scene, submitted):
        from app.observations.models import ImmutableObservationError

        observation = submitted
        operations.withdraw(db.session, observation, user=scene.referent, reason="")
        db.session.commit()
        observation.state = ObservationState.SUBMITTED
        observation.withdrawn_at = None
        with pytest.raises(ImmutableObservationError):
            db.session.commit()
        db.session.rollback()
