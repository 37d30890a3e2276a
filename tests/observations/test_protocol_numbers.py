"""Protocol numbers stay unique and gap-free when many submissions arrive at once."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db as _db
from app.observations import operations
from app.observations.models import Observation
from app.rounds.models import Round

WORKERS = 8
PER_WORKER = 5


def _drafts(db, round_, referent, count, *, valid=True):
    anchor = operations.Anchor(operations.Target.PLAN)
    ids = []
    for number in range(count):
        draft = operations.start_draft(db.session, round_, author=referent, anchor=anchor)
        operations.save_draft(
            db.session,
            draft,
            user=referent,
            title=f"Osservazione {number}" if valid else "",
            body_html="<p>Testo</p>",
            kind=operations.ObservationKind.OBSERVATION,
            proposed_text=None,
            consent_public_name=False,
        )
        ids.append(draft.id)
    db.session.commit()
    return ids


def test_concurrent_submissions_get_unique_gap_free_numbers(
    app, db, make_round, make_comune, make_referent
):
    round_ = make_round()
    referents = [make_referent(make_comune()) for _ in range(WORKERS)]
    batches = [_drafts(db, round_, r, PER_WORKER) for r in referents]
    # Every worker also tries an incomplete draft: refused, it must not use up a number.
    invalid = [_drafts(db, round_, r, 1, valid=False)[0] for r in referents]
    user_ids = [referent.id for referent in referents]  # read here: threads use own sessions
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for observation_id in [*batches[index][:2], invalid[index], *batches[index][2:]]:
                    observation = _db.session.get(Observation, observation_id)
                    user = _db.session.get(User, user_ids[index])
                    try:
                        operations.submit(_db.session, observation, actor=user)
                        _db.session.commit()
                    except operations.ObservationError:
                        _db.session.rollback()
                _db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    db.session.expire_all()
    numbers = sorted(
        db.session.scalars(
            select(Observation.protocol_number).where(
                Observation.round_id == round_.id, Observation.protocol_number.is_not(None)
            )
        )
    )
    assert numbers == list(range(1, WORKERS * PER_WORKER + 1))
    codes = db.session.scalars(
        select(Observation.protocol_code).where(Observation.round_id == round_.id)
    ).all()
    assert len({c for c in codes if c}) == WORKERS * PER_WORKER
    assert db.session.get(Round, round_.id) is not None


def test_the_same_draft_submitted_at_once_is_registered_once(
    app, db, make_round, make_comune, make_referent
):
    round_ = make_round()
    referent = make_referent(make_comune())
    [draft_id] = _drafts(db, round_, referent, 1)
    referent_id = referent.id
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def work() -> None:
        with app.app_context():
            observation = _db.session.get(Observation, draft_id)
            user = _db.session.get(User, referent_id)
            barrier.wait()
            try:
                operations.submit(_db.session, observation, actor=user)
                _db.session.commit()
                outcomes.append("submitted")
            except operations.AlreadySubmitted as already:
                outcomes.append(f"already {already.observation.protocol_code}")
            _db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("submitted") == 1
    assert sorted(outcomes)[:-1] == [f"already {round_.protocol_prefix}-0001"] * 3
    db.session.expire_all()
    assert db.session.get(Observation, draft_id).protocol_number == 1
    from app.rounds.models import ProtocolCounter

    assert db.session.get(ProtocolCounter, round_.id).last_number == 1
