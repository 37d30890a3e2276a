"""The append-only, hash-chained audit trail: who did what to which object, and when.

Rows are written through :func:`record` (in the caller's session and transaction) and can never
be changed or removed: the ORM refuses updates and deletes of ``AuditEntry``, whether through the
unit of work or bulk statements, and database triggers refuse them below the ORM (migration
``c4a1f0e9d2b7``).

**The chain.** Every entry carries a sequence number (``seq``: 1, 2, 3… without gaps, in commit
order), the previous entry's hash (``prev_hash``; the first entry's is :data:`GENESIS`) and its
own hash: the SHA-256, in hex, of :func:`canonical_entry`. The numbers and hashes are given at
flush time (a ``before_flush`` listener) under the one row of ``audit_chain_head``, taken with
``UPDATE … RETURNING`` like a round's ``ProtocolCounter``: a second transaction that audits waits
on that row until the first commits or rolls back, so two writers can never give the same number
or fork the chain, and a rollback gives the numbers back. ``flask audit verify`` walks the chain
(:func:`verify`).

**No personal data.** The chain cannot be erased, so ``details`` hold ids and codes only (checked
by :func:`record`: a string with a space or an ``@`` is refused); names, addresses, titles and
free-text reasons stay in their own rows, where erasure can reach them. The client's IP address is
kept beside the entry in ``audit_addresses``, outside the hashed form, so it can be forgotten
after its retention period (``flask audit forget-addresses``) without breaking the chain.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow

#: The previous hash of the first entry.
GENESIS = "0" * 64

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class AppendOnlyError(RuntimeError):
    pass


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
        Index("ix_audit_entries_actor_id", "actor_id"),
        Index("ix_audit_entries_action", "action"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    #: 1, 2, 3… in commit order, without gaps.
    seq: Mapped[int] = mapped_column(_BIG_ID, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 (hex) of :func:`canonical_entry`.
    hash: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None when the system acted, or nobody was logged in (e.g. a failed login).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Dotted verb such as ``auth.login`` or ``user.roles_changed``.
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: Ids and codes only (see :func:`record`).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    address: Mapped[AuditAddress | None] = relationship(viewonly=True, lazy="select")

    def __repr__(self) -> str:
        return f"<AuditEntry {self.seq} {self.action} {self.object_type}:{self.object_id}>"


class AuditAddress(Base):
    """The client address an entry was recorded from: personal data, so beside the chain (not
    hashed) and deleted after its retention period."""

    __tablename__ = "audit_addresses"

    entry_id: Mapped[int] = mapped_column(ForeignKey("audit_entries.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(45))

    entry: Mapped[AuditEntry] = relationship()


class AuditChainHead(Base):
    """The chain's one head row: the last sequence number given and its entry's hash."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(_BIG_ID, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


# Writing -----------------------------------------------------------------------------------

#: What a string in ``details`` may be: an id or a code (keys, protocol numbers, slugs, dates,
#: digests), never words (a space), never an e-mail address (an @).
_CODE = re.compile(r"[\w.:+/-]{0,120}")
_MAX_DEPTH = 3
_order = itertools.count()


def record(
    session: Session,
    action: str,
    *,
    actor=None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to the session (the caller's transaction commits it).

    ``details`` are ids and codes; anything else (a name, an e-mail address, a title, a reason
    typed by someone) raises ``ValueError``: it belongs in its own row.
    """
    obj = _unproxy(obj)
    actor = _unproxy(actor)
    if obj is not None:
        object_type = object_type or getattr(obj, "__audit_type__", type(obj).__tablename__)
        if object_id is None:
            if obj.id is None:
                session.flush([obj])
            object_id = obj.id
    entry = AuditEntry(
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details={_key(key): _code(value, key) for key, value in details.items()},
    )
    entry._chain_order = next(_order)
    session.add(entry)
    ip = request.remote_addr if has_request_context() else None
    if ip:
        session.add(AuditAddress(entry=entry, ip_address=ip[:45]))
    return entry


def changes(pairs: dict[str, Iterable], *, values_of: Iterable[str] = ()) -> dict:
    """The details of an update: ``fields``, the names of the fields that changed, and
    ``values``, before and after, only for the fields named in ``values_of`` (ids, codes, dates:
    never a name, an address or a text)."""
    keep = set(values_of)
    return {
        "fields": sorted(pairs),
        "values": {name: list(pair) for name, pair in sorted(pairs.items()) if name in keep},
    }


def _key(key) -> str:
    key = str(key)
    if not _CODE.fullmatch(key):
        raise ValueError("audit details are keyed by codes")
    return key


def _code(value, key, depth: int = 0):
    """The value as JSON holds it, if it is an id or a code."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"audit detail {key!r} is nested too deep")
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if not _CODE.fullmatch(value):
            raise ValueError(f"audit detail {key!r} is not an id or a code")
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_code(item, key, depth + 1) for item in items]
    if isinstance(value, dict):
        return {_key(k): _code(v, key, depth + 1) for k, v in value.items()}
    raise ValueError(f"audit detail {key!r} is not an id or a code")


def _unproxy(value):
    """Accept ``current_user`` and other Werkzeug proxies as the object they stand for."""
    getter = getattr(value, "_get_current_object", None)
    return getter() if getter is not None else value


# The chain ---------------------------------------------------------------------------------


def canonical_entry(
    *,
    seq: int,
    prev_hash: str,
    occurred_at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: dict,
) -> bytes:
    """What an entry's hash is taken over: a JSON object with the keys ``action``, ``actor``
    (user id or null), ``at`` (UTC, ISO 8601 with microseconds and ``+00:00``), ``details``,
    ``object_id`` (string or null), ``object_type``, ``prev`` (the previous entry's hash) and
    ``seq``; keys sorted at every level, no spaces, UTF-8 (non-ASCII characters as they are).
    The client address is not part of it."""
    document = {
        "seq": seq,
        "prev": prev_hash,
        "at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry) -> str:
    """The hash an entry (or a row with the same attributes) must carry."""
    return hashlib.sha256(
        canonical_entry(
            seq=entry.seq,
            prev_hash=entry.prev_hash,
            occurred_at=entry.occurred_at,
            actor_id=entry.actor_id,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            details=entry.details or {},
        )
    ).hexdigest()


_head = AuditChainHead.__table__


def _advance(connection, count: int) -> tuple[int, str]:
    """Take the head row (held until the transaction ends) and ``count`` numbers from it;
    return the first number and the hash it follows."""
    statement = (
        update(_head)
        .where(_head.c.id == 1)
        .values(last_seq=_head.c.last_seq + count)
        .returning(_head.c.last_seq, _head.c.last_hash)
    )
    row = connection.execute(statement).first()
    if row is None:  # an empty database: create the head (a concurrent creator wins, we wait)
        insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            insert(_head).values(id=1, last_seq=0, last_hash=GENESIS).on_conflict_do_nothing()
        )
        row = connection.execute(statement).one()
    return row.last_seq - count + 1, row.last_hash


def lock_chain(session: Session) -> None:
    """Take the chain's head row now, before other row locks, for an operation that locks other
    rows and then audits (registration takes the head, then the round's protocol counter): every
    transaction then takes the head first, and two of them cannot wait on each other."""
    _advance(session.connection(), 0)


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, flush_context, instances) -> None:
    flushed = None if instances is None else {id(obj) for obj in instances}
    pending = sorted(
        (
            obj
            for obj in session.new
            if isinstance(obj, AuditEntry)
            and obj.seq is None
            and (flushed is None or id(obj) in flushed)
        ),
        key=lambda entry: getattr(entry, "_chain_order", 0),
    )
    if not pending:
        return
    connection = session.connection()
    seq, prev = _advance(connection, len(pending))
    for entry in pending:
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = entry_hash(entry)
        seq += 1
    connection.execute(update(_head).where(_head.c.id == 1).values(last_hash=prev))


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise AppendOnlyError("audit entries cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise AppendOnlyError("audit entries cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is AuditEntry for mapper in state.all_mappers
    ):
        raise AppendOnlyError("audit entries cannot be changed or deleted")


def forget_addresses(session: Session, *, before: datetime) -> int:
    """Delete the client addresses of the entries recorded before ``before`` (their retention
    period is over); the entries and the chain stay as they are. Returns how many went."""
    older = select(AuditEntry.id).where(AuditEntry.occurred_at < before)
    result = session.execute(
        delete(AuditAddress)
        .where(AuditAddress.entry_id.in_(older))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# Verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first broken link: the sequence number where the chain stops holding, and why."""

    seq: int
    reason: str


@dataclass(frozen=True)
class Verification:
    checked: int
    last_seq: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _rows(session: Session, batch: int) -> Iterator:
    """Every entry in sequence order, read ``batch`` at a time (keyset pagination: memory stays
    bounded whatever the length of the trail)."""
    columns = (
        AuditEntry.seq,
        AuditEntry.prev_hash,
        AuditEntry.hash,
        AuditEntry.occurred_at,
        AuditEntry.actor_id,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.details,
    )
    after = None
    while True:
        query = select(*columns).order_by(AuditEntry.seq).limit(batch)
        if after is not None:
            query = query.where(AuditEntry.seq > after)
        rows = session.execute(query).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


def verify(session: Session, *, batch: int = 1000) -> Verification:
    """Walk the chain from the first entry and report the first broken link: a missing number
    (an entry deleted), a previous hash that does not match (an entry deleted or rewritten
    before this one), a hash that does not match the entry (this entry changed), or a head that
    names more entries than there are (the last ones deleted)."""
    expected, prev, checked = 1, GENESIS, 0
    for row in _rows(session, batch):
        if row.seq != expected:
            return Verification(checked, expected - 1, Break(expected, "missing"))
        if row.prev_hash != prev:
            return Verification(checked, expected - 1, Break(row.seq, "previous hash differs"))
        if entry_hash(row) != row.hash:
            return Verification(checked, expected - 1, Break(row.seq, "entry changed"))
        prev, expected, checked = row.hash, expected + 1, checked + 1
    head = session.execute(select(_head.c.last_seq, _head.c.last_hash)).first()
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    if last_seq != expected - 1:
        return Verification(checked, expected - 1, Break(expected, "missing"))
    if last_hash != prev:  # the last entry rewritten, its hash recomputed
        return Verification(checked, expected - 1, Break(expected - 1, "entry changed"))
    return Verification(checked, expected - 1, None)
