"""The outbox's read side, on its own."""

from __future__ import annotations

from app.extensions import db as _db
from app.notifications import queries
from app.notifications.models import OutboxMessage, OutboxStatus


def _message(status: OutboxStatus) -> OutboxMessage:
    message = OutboxMessage(
        kind="test",
        locale="it",
        recipient="a@example.org",
        subject="S",
        body_text="T",
        body_html="<p>T</p>",
        status=status,
    )
    _db.session.add(message)
    return message


def test_counts_name_every_status_and_lists_hold_one(db):
    first, second = _message(OutboxStatus.FAILED), _message(OutboxStatus.FAILED)
    _message(OutboxStatus.SENT)
    db.session.commit()
    assert queries.status_counts() == {
        OutboxStatus.PENDING: 0,
        OutboxStatus.SENDING: 0,
        OutboxStatus.SENT: 1,
        OutboxStatus.FAILED: 2,
    }
    failed = list(db.session.scalars(queries.messages(OutboxStatus.FAILED)))
    assert failed == [second, first]  # latest first
