"""What moderators do to what a round received. Functions flush but never commit: the caller
commits once per request, and a :class:`~app.moderation.models.ModerationError` (a refusal)
means the caller rolls back, so nothing is half done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import User
from app.core.audit import record
from app.core.db import update_versioned, utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import search
from app.moderation.models import (
    REASON_MAX,
    TRANSITIONS,
    Conflict,
    ModerationError,
    Triage,
    TriageState,
    TriageTransition,
)
from app.moderation.permissions import TRANSITION_PERMISSIONS
from app.observations.models import Observation, ObservationState

CHANGED_MEANWHILE = _l(
    "Someone else changed this observation after you opened the page: nothing was changed. "
    "Look at it again and repeat what you meant to do."
)


# Registration ------------------------------------------------------------------------------


def on_registered(session: Session, observation: Observation, *, now: datetime) -> Triage:
    """Open the triage of an observation being registered, read its attachments' text and
    index it for search (in the registering transaction)."""
    triage = Triage(
        observation_id=observation.id,
        state=TriageState.RECEIVED,
        changed_at=now,
        changed_by_id=None,
    )
    session.add(triage)
    session.add(
        TriageTransition(
            observation_id=observation.id,
            action="receive",
            from_state=None,
            to_state=TriageState.RECEIVED,
            actor_id=None,
            occurred_at=now,
        )
    )
    session.flush()
    search.read_attachments(session, observation)
    search.index_observation(session, observation)
    return triage


# Transitions -------------------------------------------------------------------------------


def check_lock(triage: Triage, seen_lock: int | None) -> None:
    """Refuse when the page the request came from showed an older (or no) version."""
    if seen_lock is None or seen_lock != triage.lock_version:
        raise Conflict(CHANGED_MEANWHILE)


def flush_guarded(session: Session) -> None:
    """Flush; a row changed by someone else in between (a stale UPDATE) is a conflict."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(CHANGED_MEANWHILE) from None


def touch_many(session: Session, triages: Iterable[Triage], *, now: datetime) -> None:
    """Say that these observations changed (their tags or points did): one UPDATE whatever
    their number, which moves each lock on from the version read; a row another transaction
    changed in between is not matched, and that is a :class:`Conflict` (the caller rolls back)."""
    triages = list(triages)
    if not triages:
        return
    result = session.execute(
        update(Triage)
        .where(
            tuple_(Triage.observation_id, Triage.lock_version).in_(
                [(t.observation_id, t.lock_version) for t in triages]
            )
        )
        .values(changed_at=now, lock_version=Triage.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(triages):
        raise Conflict(CHANGED_MEANWHILE)
    for triage in triages:  # what the row now holds, without reading it again
        set_committed_value(triage, "lock_version", triage.lock_version + 1)
        set_committed_value(triage, "changed_at", now)


def transition(
    session: Session,
    triage: Triage,
    action: str,
    *,
    actor: User,
    seen_lock: int | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> TriageTransition:
    """Take a triage action on one observation, recorded in its history and the audit trail."""
    if action not in TRANSITIONS:
        raise ModerationError(_l("This action is not possible."))
    observation = triage.observation
    if not TRANSITION_PERMISSIONS[action](actor, observation.round):
        raise ModerationError(_l("You may not do this in this round."))
    check_lock(triage, seen_lock)
    return _move(session, triage, action, actor=actor, reason=reason, now=now or utcnow())


def mark_decided(session: Session, triage: Triage, *, actor: User, now: datetime | None = None):
    """Move an observation to ``decided`` (the decisions domain calls it when every active
    point has a published decision); nothing happens if it is already there."""
    if triage.state is TriageState.DECIDED:
        return None
    return _move(session, triage, "decide", actor=actor, reason=None, now=now or utcnow())


def mark_decided_many(
    session: Session, triages: list[Triage], *, actor: User, now: datetime | None = None
) -> list[TriageTransition]:
    """:func:`mark_decided` for many observations at once (a round's publication): one UPDATE
    of their triage rows, whatever their number, then their transitions and audit entries in
    one flush."""
    now = now or utcnow()
    triages = [t for t in triages if t.state is not TriageState.DECIDED]
    _allowed, target = TRANSITIONS["decide"]
    for triage in triages:
        _check_move(triage, "decide")
    befores = [t.state for t in triages]
    try:
        update_versioned(
            session, triages, state=target, reason=None, changed_at=now, changed_by_id=actor.id
        )
    except StaleDataError:
        raise Conflict(CHANGED_MEANWHILE) from None
    return _log_moves(
        session,
        [(t, "decide", before, target, None) for t, before in zip(triages, befores, strict=True)],
        actor=actor,
        now=now,
    )


def clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ModerationError(_l("Say why it is not admissible: the author reads it."), "reason")
    if len(reason) > REASON_MAX:
        raise ModerationError(
            _l("The reason is longer than %(n)d characters.", n=REASON_MAX), "reason"
        )
    return reason


def _check_move(triage: Triage, action: str) -> None:
    """Refuse a transition of a withdrawn observation, or one its state does not allow."""
    observation = triage.observation
    if observation.state is not ObservationState.SUBMITTED:
        raise ModerationError(
            _l("%(code)s was withdrawn by its author.", code=observation.protocol_code)
        )
    allowed, _target = TRANSITIONS[action]
    if triage.state not in allowed:
        triage.move(action)  # raises the refusal naming the state


def _move(
    session: Session,
    triage: Triage,
    action: str,
    *,
    actor: User,
    reason: str | None,
    now: datetime,
) -> TriageTransition:
    """The transition itself, once permission and lock are checked."""
    return move_many(session, [triage], action, actor=actor, reason=reason, now=now)[0]


def move_many(
    session: Session,
    triages: Iterable[Triage],
    action: str,
    *,
    actor: User,
    reason: str | None,
    now: datetime,
) -> list[TriageTransition]:
    """The same transition on many observations (bulk actions share it), in statements
    bounded whatever their number: one flush writes the triages and their transitions, then
    each transition is recorded in the audit trail as a single one would be."""
    given = clean_reason(reason) if action == "reject" else None
    triages = list(triages)
    unread = [t.observation_id for t in triages if "observation" not in t.__dict__]
    if unread:  # their observations, in one statement (else one each, below)
        session.scalars(select(Observation).where(Observation.id.in_(unread))).all()
    moves = []
    for triage in triages:
        _check_move(triage, action)
        before, after = triage.move(action)
        triage.reason = given
        triage.changed_at = now
        triage.changed_by_id = actor.id
        moves.append((triage, action, before, after, given))
    return _log_moves(session, moves, actor=actor, now=now)


def _log_moves(session: Session, moves, *, actor: User, now: datetime) -> list[TriageTransition]:
    """Each move's transition row and audit entry (``moves``: triage, action, from, to,
    reason), in one flush: a changed triage row found stale is a conflict."""
    steps = [
        TriageTransition(
            observation_id=triage.observation_id,
            action=action,
            from_state=before,
            to_state=after,
            actor_id=actor.id,
            occurred_at=now,
            reason=given,
        )
        for triage, action, before, after, given in moves
    ]
    session.add_all(steps)
    flush_guarded(session)
    for (triage, action, before, after, _given), step in zip(moves, steps, strict=True):
        record(
            session,
            f"triage.{action}",
            actor=actor,
            obj=triage.observation,
            round_id=triage.observation.round_id,
            from_state=before.value,
            to_state=after.value,
            transition_id=step.id,
        )
    return steps


def reindex(session: Session, *, commit, batch: int = 200) -> dict:
    """Bring every registered observation's search document up to date (after an upgrade:
    attachments registered before search existed are read now, once). Commits per batch."""
    counts = {"observations": 0, "attachments": 0}
    last = 0
    while True:
        chunk = session.scalars(
            select(Observation)
            .where(Observation.state != ObservationState.DRAFT, Observation.id > last)
            .order_by(Observation.id)
            .limit(batch)
        ).all()
        if not chunk:
            return counts
        for observation in chunk:
            counts["attachments"] += len(search.read_attachments(session, observation))
            search.index_observation(session, observation)
            counts["observations"] += 1
        last = chunk[-1].id
        commit()
        session.expunge_all()


# Internal notes ----------------------------------------------------------------------------


def add_note(session: Session, observation: Observation, *, author: User, body: str, point=None):
    """A note for staff on one observation, or on one of its points (the audit entry
    names it by id, never its text)."""
    from app.moderation.models import NOTE_MAX, InternalNote
    from app.moderation.permissions import can_read_notes

    if not can_read_notes(author):
        raise ModerationError(_l("Internal notes are for staff only."))
    body = (body or "").strip()
    if not body:
        raise ModerationError(_l("Write the note."), "body")
    if len(body) > NOTE_MAX:
        raise ModerationError(_l("A note has at most %(n)d characters.", n=NOTE_MAX), "body")
    note = InternalNote(
        observation_id=observation.id,
        point_id=point.id if point is not None else None,
        author_id=author.id,
        body=body,
    )
    session.add(note)
    session.flush()
    if point is None:
        record(session, "note.added", actor=author, obj=observation, note_id=note.id)
    else:
        record(session, "point.note_added", actor=author, obj=point, note_id=note.id)
    return note
