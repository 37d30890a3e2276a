"""Redacting what a round publishes, and hiding items from publication (the write side; what
the public then reads is :mod:`app.moderation.publication`).

A redaction is a range of an observation's ``body_text`` (so it covers every point whose
excerpt reaches into it) that the public reads as ``[omissis]``: personal data, offensive
words. The observation itself never changes (its digest still verifies) and staff keep reading
the original. Hiding keeps a whole observation, or one of its points, out of publication. Each
records who, when and why (the reason in its own row, never in the audit trail); both are
lifted rather than deleted, under the observation's one moderation lock.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import operations
from app.moderation.models import (
    OMISSIS,
    REASON_MAX,
    ModerationError,
    PublicationHide,
    Redaction,
    Triage,
)
from app.moderation.permissions import can_redact
from app.observations.models import Point, PointState


def _reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ModerationError(_l("Say why (staff read it; the public does not)."), "reason")
    if len(reason) > REASON_MAX:
        raise ModerationError(
            _l("The reason is longer than %(n)d characters.", n=REASON_MAX), "reason"
        )
    return reason


def _check(triage: Triage, actor: User, seen_lock: int | None) -> None:
    if not can_redact(actor, triage.observation.round):
        raise ModerationError(_l("This round does not publish its observations."))
    operations.check_lock(triage, seen_lock)


def locate(text: str, quote: str, occurrence: int = 1) -> tuple[int, int]:
    """Where the quoted passage is in the text (its ``occurrence``-th appearance; spaces are
    compared as single spaces). Raises when it is not there."""
    wanted = re.sub(r"\s+", " ", quote or "").strip()
    if not wanted:
        raise ModerationError(_l("Copy the passage to redact from the text."), "quote")
    position = -1
    for _n in range(max(occurrence, 1)):
        position = text.find(wanted, position + 1)
        if position < 0:
            raise ModerationError(
                _l("This passage is not in the text (or not that many times)."), "quote"
            )
    return position, position + len(wanted)


def redact(
    session: Session,
    triage: Triage,
    *,
    start: int,
    end: int,
    reason: str | None,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> Redaction:
    """Redact ``body_text[start:end]`` of the triage's observation for the public."""
    _check(triage, actor, seen_lock)
    observation = triage.observation
    text = observation.body_text
    if not (0 <= start < end <= len(text)) or not text[start:end].strip():
        raise ModerationError(_l("Choose words of the text to redact."), "quote")
    given = _reason(reason)
    overlapping = session.scalar(
        select(Redaction.id).where(
            Redaction.observation_id == observation.id,
            Redaction.lifted_at.is_(None),
            Redaction.start_offset < end,
            Redaction.end_offset > start,
        )
    )
    if overlapping is not None:
        raise ModerationError(
            _l("Part of this passage is already redacted: lift that redaction first."), "quote"
        )
    now = now or utcnow()
    redaction = Redaction(
        observation_id=observation.id,
        start_offset=start,
        end_offset=end,
        replacement=OMISSIS,
        reason=given,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(redaction)
    triage.changed_at = now
    operations.flush_guarded(session)
    record(
        session,
        "redaction.added",
        actor=actor,
        obj=observation,
        redaction_id=redaction.id,
        start=start,
        end=end,
    )
    return redaction


def lift_redaction(
    session: Session,
    triage: Triage,
    redaction: Redaction,
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> None:
    """Publish the redacted words again (the row stays, with who lifted it and when)."""
    _check(triage, actor, seen_lock)
    if redaction.observation_id != triage.observation_id or redaction.lifted_at is not None:
        raise ModerationError(_l("This redaction is no longer in force."))
    now = now or utcnow()
    redaction.lifted_at = now
    redaction.lifted_by_id = actor.id
    triage.changed_at = now
    operations.flush_guarded(session)
    record(
        session,
        "redaction.lifted",
        actor=actor,
        obj=triage.observation,
        redaction_id=redaction.id,
    )


def _active_hide(session: Session, observation_id: int, point_id: int | None):
    query = select(PublicationHide).where(
        PublicationHide.observation_id == observation_id, PublicationHide.lifted_at.is_(None)
    )
    query = query.where(
        PublicationHide.point_id.is_(None)
        if point_id is None
        else PublicationHide.point_id == point_id
    )
    return session.scalar(query)


def hide(
    session: Session,
    triage: Triage,
    *,
    point: Point | None = None,
    reason: str | None,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> PublicationHide:
    """Keep the observation (or one of its points) out of publication, saying why."""
    _check(triage, actor, seen_lock)
    if point is not None and (
        point.observation_id != triage.observation_id or point.state is not PointState.ACTIVE
    ):
        raise ModerationError(_l("This point is not one of this observation's."))
    given = _reason(reason)
    point_id = point.id if point is not None else None
    if _active_hide(session, triage.observation_id, point_id) is not None:
        raise ModerationError(_l("It is already hidden from publication."))
    now = now or utcnow()
    row = PublicationHide(
        observation_id=triage.observation_id,
        point_id=point_id,
        reason=given,
        hidden_by_id=actor.id,
        hidden_at=now,
    )
    session.add(row)
    triage.changed_at = now
    operations.flush_guarded(session)
    record(
        session,
        "publication.hidden",
        actor=actor,
        obj=triage.observation,
        hide_id=row.id,
        point_id=point_id,
    )
    return row


def show_again(
    session: Session,
    triage: Triage,
    row: PublicationHide,
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> None:
    """Lift a hide: the item is published again (the row stays)."""
    _check(triage, actor, seen_lock)
    if row.observation_id != triage.observation_id or row.lifted_at is not None:
        raise ModerationError(_l("It is no longer hidden."))
    now = now or utcnow()
    row.lifted_at = now
    row.lifted_by_id = actor.id
    triage.changed_at = now
    operations.flush_guarded(session)
    record(
        session,
        "publication.shown",
        actor=actor,
        obj=triage.observation,
        hide_id=row.id,
        point_id=row.point_id,
    )
