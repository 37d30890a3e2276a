"""Points: every registered observation has point 1 with its anchor, from the transaction that
registers it, whichever way it arrived; points change, observations do not."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import Role
from app.core.db import utcnow
from app.extensions import db as _db
from app.observations import operations
from app.observations.models import (
    ImmutableObservationError,
    Observation,
    ObservationError,
    Point,
    PointState,
    Target,
    erasing,
)
from app.rounds.models import ProtocolCounter
from tests.api.conftest import bearer
from tests.observations.test_files import MINIMAL_PDF
from tests.observations.test_intake import _intake


def _points(db) -> list[Point]:
    return db.session.scalars(select(Point).order_by(Point.id)).all()


def _anchor_of(row) -> tuple:
    return (
        row.target,
        row.section_id,
        row.paragraph_id,
        row.quote_text,
        row.quote_start,
        row.quote_end,
    )


def _passage_draft(db, scene):
    paragraph = scene.paragraph(db, 0)
    quote = " ".join(paragraph.text.split()[1:3])
    anchor = operations.resolve_anchor(
        db.session, scene.round, paragraph_key=paragraph.key, quote=quote
    )
    draft = operations.start_draft(db.session, scene.round, author=scene.referent, anchor=anchor)
    operations.save_draft(
        db.session,
        draft,
        user=scene.referent,
        title="Sul passo citato",
        body_html="<p>Primo punto.</p><p>Secondo punto.</p>",
        kind=operations.ObservationKind.OBSERVATION,
        proposed_text=None,
        consent_public_name=False,
    )
    db.session.commit()
    return draft


def test_a_submitted_observation_has_point_one_with_its_anchor(db, scene):
    draft = _passage_draft(db, scene)
    assert _points(db) == []  # a draft has no points
    operations.submit(db.session, draft, actor=scene.referent, send_receipt=False)
    db.session.commit()
    [point] = _points(db)
    observation = db.session.get(Observation, draft.id)
    assert point.observation_id == observation.id and point.number == 1
    assert point.target is Target.PASSAGE
    assert _anchor_of(point) == _anchor_of(observation)
    assert point.label == f"{observation.protocol_code}/1"
    assert point.excerpt == observation.body_text
    assert point.state is PointState.ACTIVE
    assert [p.id for p in observation.points] == [point.id]


def test_the_web_form_registers_point_one(db, scene):
    from tests.observations.test_submit import _post_new

    section = scene.section(db, 0)
    response, _, _ = _post_new(scene.client, scene.round.id, section=section.key)
    assert response.status_code == 302
    [observation] = db.session.scalars(select(Observation)).all()
    [point] = _points(db)
    assert point.observation_id == observation.id
    assert (point.target, point.section_id) == (Target.SECTION, section.id)


def test_staff_intake_registers_point_one(db, logged_in, make_round, make_comune):
    round_ = make_round()
    comune = make_comune("Comune di Legnano", pec="protocollo@pec.legnano.example")
    client, _moderator = logged_in(Role.MODERATOR)
    response = _intake(client, round_, comune)
    assert response.status_code == 302
    [observation] = db.session.scalars(select(Observation)).all()
    [point] = _points(db)
    assert point.label == f"{observation.protocol_code}/1"
    assert point.target is Target.PLAN


def test_the_api_registers_point_one(client, db, make_round, make_comune, make_referent, make_user):
    from app.api.operations import create_token

    round_ = make_round()
    referent = make_referent(make_comune("Comune di Rho"))
    _, secret = create_token(
        db.session, user=referent, name="protocollo", actor=make_user(Role.ADMIN)
    )
    db.session.commit()
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations",
        json={
            "title": "Dall'API",
            "text": "<p>Testo</p>",
            "attachments": [
                {"filename": "a.pdf", "content": base64.b64encode(MINIMAL_PDF).decode()}
            ],
        },
        headers=bearer(secret),
    )
    assert response.status_code == 201, response.get_json()
    [point] = _points(db)
    assert point.label == f"{response.get_json()['protocol']}/1"


def test_a_registration_that_fails_leaves_no_point(app, db, scene):
    draft = _passage_draft(db, scene)
    stale = db.session.get(Observation, draft.id)
    with app.app_context():  # another tab saves meanwhile
        other = _db.session.get(Observation, draft.id)
        other.title = "Un altro titolo"
        _db.session.commit()
    with pytest.raises(operations.ChangedMeanwhile):
        operations.submit(db.session, stale, actor=scene.referent)
    db.session.rollback()
    assert _points(db) == []
    assert db.session.get(ProtocolCounter, scene.round.id).last_number == 0


def test_a_point_changes_after_submission_under_an_optimistic_lock(app, db, scene):
    draft = _passage_draft(db, scene)
    operations.submit(db.session, draft, actor=scene.referent, send_receipt=False)
    db.session.commit()
    [point] = _points(db)
    point.summary = "Chiede di semplificare."
    point.excerpt_start, point.excerpt_end = 0, len("Primo punto.")
    db.session.commit()  # the observation is immutable; its points are not
    assert point.lock_version == 2 and point.excerpt == "Primo punto."
    with app.app_context():  # another moderator saves the same point meanwhile
        other = _db.session.get(Point, point.id)
        other.summary = "Altro riassunto"
        _db.session.commit()
    point.summary = "Riassunto da una pagina vecchia"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Point, point.id).summary == "Altro riassunto"


def test_a_point_is_retired_never_deleted_and_its_number_is_never_given_again(db, scene):
    draft = _passage_draft(db, scene)
    operations.submit(db.session, draft, actor=scene.referent, send_receipt=False)
    db.session.commit()
    [point] = _points(db)
    db.session.delete(point)
    with pytest.raises(ObservationError):
        db.session.commit()
    db.session.rollback()
    point.state, point.retired_at = PointState.RETIRED, utcnow()
    db.session.commit()
    with pytest.raises(IntegrityError):  # the number stays taken
        db.session.execute(
            insert(Point).values(
                observation_id=draft.id,
                number=1,
                target="plan",
                summary="Di nuovo",
                state="active",
                created_at=utcnow(),
                updated_at=utcnow(),
                lock_version=1,
            )
        )
    db.session.rollback()


@pytest.mark.parametrize(
    "values",
    [
        {"target": "paragraph"},  # no paragraph
        {"target": "passage", "quote_text": None},
        {"excerpt_start": 5, "excerpt_end": 2},
        {"excerpt_start": 0, "excerpt_end": None},
        {"excerpt_start": None, "excerpt_end": None, "summary": None},
        {"number": 0},
        {"state": "retired"},  # without retired_at
    ],
    ids=["anchor", "quote", "range order", "half range", "nothing said", "number", "retired"],
)
def test_the_database_refuses_a_malformed_point(db, scene, values):
    draft = _passage_draft(db, scene)
    operations.submit(db.session, draft, actor=scene.referent, send_receipt=False)
    db.session.commit()
    row = {
        "observation_id": draft.id,
        "number": 2,
        "target": "plan",
        "excerpt_start": 0,
        "excerpt_end": 3,
        "state": "active",
        "created_at": utcnow(),
        "updated_at": utcnow(),
        "lock_version": 1,
        **values,
    }
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Point).values(**row))
    db.session.rollback()


def test_erasure_is_the_one_exception_to_immutability(db, scene):
    draft = _passage_draft(db, scene)
    draft.signatory = "Mario Rossi"
    db.session.commit()
    operations.submit(db.session, draft, actor=scene.referent, send_receipt=False)
    db.session.commit()
    observation = db.session.get(Observation, draft.id)
    observation.signatory = None
    with pytest.raises(ImmutableObservationError):  # not outside an erasure
        db.session.commit()
    db.session.rollback()
    with erasing(db.session, observation):
        observation.title = "Riscritto"  # an erasure blanks, it never writes
        with pytest.raises(ImmutableObservationError):
            db.session.commit()
        db.session.rollback()
        observation.kind = operations.ObservationKind.AMENDMENT  # not an erasable column
        with pytest.raises(ImmutableObservationError):
            db.session.commit()
        db.session.rollback()
        observation.signatory = None
        observation.body_html = observation.body_text = ""
        db.session.commit()
    stored = db.session.get(Observation, draft.id)
    assert stored.signatory is None and stored.body_text == ""
    stored.title = ""
    with pytest.raises(ImmutableObservationError):  # the exception ended with the block
        db.session.commit()
    db.session.rollback()
