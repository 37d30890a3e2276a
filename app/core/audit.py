"""The append-only audit trail: who did what to which object, and when.

Rows are written through :func:`record` and can never be changed or removed through the ORM:
updates and deletes of ``AuditEntry`` raise, whether through the unit of work or bulk statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow


class AppendOnlyError(RuntimeError):
    pass


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
        Index("ix_audit_entries_actor_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None when the system acted, or nobody was logged in (e.g. a failed login).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Dotted verb such as ``auth.login`` or ``user.roles_changed``.
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")

    def __repr__(self) -> str:
        return f"<AuditEntry {self.action} {self.object_type}:{self.object_id}>"


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
    """Add an audit entry to the session (the caller's transaction commits it)."""
    obj = _unproxy(obj)
    actor = _unproxy(actor)
    if obj is not None:
        object_type = object_type or getattr(obj, "__audit_type__", type(obj).__tablename__)
        if object_id is None:
            if obj.id is None:
                session.flush([obj])
            object_id = obj.id
    ip = request.remote_addr if has_request_context() else None
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip_address=ip,
        details=details,
    )
    session.add(entry)
    return entry


def _unproxy(value):
    """Accept ``current_user`` and other Werkzeug proxies as the object they stand for."""
    getter = getattr(value, "_get_current_object", None)
    return getter() if getter is not None else value


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
