"""The read side of the outbox: messages in one status, and how many are in each."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from app.extensions import db
from app.notifications.models import OutboxMessage, OutboxStatus


def messages(status: OutboxStatus) -> Select:
    """The messages in ``status``, latest first."""
    return (
        select(OutboxMessage)
        .where(OutboxMessage.status == status)
        .order_by(OutboxMessage.id.desc())
    )


def status_counts() -> dict[OutboxStatus, int]:
    """How many messages are in each status (every status present, zeros included)."""
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
                OutboxMessage.status
            )
        ).all()
    )
    return {status: counts.get(status, 0) for status in OutboxStatus}
