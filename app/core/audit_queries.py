"""The read side of the audit trail: filters as data, one query for a page or an export."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.core.audit import AuditEntry

_OBJECT_TYPE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: all of the conditions given (None: no condition)."""

    actor_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    #: From the start of ``since`` to the end of ``until`` (instants in UTC).
    since: datetime | None = None
    until: datetime | None = None
    #: A user was asked for who does not exist: nothing matches.
    nobody: bool = False


def entries(where: AuditFilter) -> Select:
    """The entries that pass, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if where.nobody:
        return query.where(AuditEntry.id.is_(None))
    if where.actor_id is not None:
        query = query.where(AuditEntry.actor_id == where.actor_id)
    if where.object_type:
        query = query.where(AuditEntry.object_type == where.object_type)
    if where.object_id:
        query = query.where(AuditEntry.object_id == where.object_id)
    if where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.since is not None:
        query = query.where(AuditEntry.occurred_at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.occurred_at < where.until)
    return query


def batches(session: Session, where: AuditFilter, *, size: int = 500) -> Iterator[AuditEntry]:
    """Every entry that passes, newest first, read ``size`` at a time (keyset pagination on
    ``seq``: memory and the cost of each query stay bounded, for an export of any length)."""
    before = None
    while True:
        query = entries(where).limit(size)
        if before is not None:
            query = query.where(AuditEntry.seq < before)
        rows = session.scalars(query).unique().all()
        yield from rows
        if len(rows) < size:
            return
        before = rows[-1].seq
        session.expunge_all()


def valid_object_type(value: str) -> bool:
    return bool(_OBJECT_TYPE.fullmatch(value))


def day_range(since: date | None, until: date | None, to_utc) -> tuple:
    """Local calendar days as UTC instants: the start of ``since``, the end of ``until``."""
    start = to_utc(datetime.combine(since, time())) if since else None
    end = to_utc(datetime.combine(until + timedelta(days=1), time())) if until else None
    return start, end
