"""Queueing e-mail in the outbox, and delivering it.

``queue_email`` renders the message in the recipient's language and adds the row to the caller's
session: if the caller's transaction rolls back, no mail exists. The worker (``deliver_due``)
claims due rows atomically, so two workers never send the same row, then sends through
Flask-Mail and records the result.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import uuid
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mail import Message
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.db import utcnow
from app.extensions import mail
from app.notifications.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

ERASED_BODY = "[erased after delivery]"


def queue_email(
    session: Session,
    *,
    to: str,
    template: str,
    context: dict,
    locale: str | None = None,
    sensitive: bool = False,
) -> OutboxMessage:
    """Render ``template``.{subject,txt,html} in ``locale`` and add the message to the outbox."""
    message = render_email(
        to=to, template=template, context=context, locale=locale, sensitive=sensitive
    )
    session.add(message)
    return message


def render_email(
    *, to: str, template: str, context: dict, locale: str | None = None, sensitive: bool = False
) -> OutboxMessage:
    """The outbox row of a rendered message, added to no session."""
    locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        subject = render_template(f"{template}.subject.txt", **context).strip()
        text = render_template(f"{template}.txt", **context)
        html = render_template(f"{template}.html", **context)
    return OutboxMessage(
        kind=template,
        recipient=to,
        subject=" ".join(subject.split())[:300],
        body_text=text,
        body_html=html,
        locale=locale,
        sensitive=sensitive,
        status=OutboxStatus.PENDING,
        next_attempt_at=utcnow(),
    )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: base * 2^(attempts - 1), capped."""
    config = current_app.config
    seconds = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, config["OUTBOX_RETRY_MAX_SECONDS"]))


def release_stale_claims(session: Session) -> int:
    """Rows left 'sending' by a worker that died: mark failed, never resend blindly.

    The dead worker may or may not have handed the message to the SMTP server; sending it again
    could deliver it twice, so an administrator decides (the outbox page can re-queue it).
    """
    cutoff = utcnow() - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT_SECONDS"])
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < cutoff)
        .values(
            status=OutboxStatus.FAILED,
            last_error="The worker stopped while sending; it may or may not have been delivered.",
        )
    )
    return result.rowcount or 0


def claim_due(session: Session, worker: str, limit: int) -> list[OutboxMessage]:
    """Atomically mark up to ``limit`` due rows as ours, and return them.

    The inner SELECT skips rows other workers have locked on PostgreSQL (FOR UPDATE SKIP LOCKED);
    on SQLite, which has one writer at a time, the UPDATE itself is atomic. In both, the
    ``status == pending`` test in the UPDATE means a row is claimed by exactly one worker.
    """
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due), OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, claimed_by=worker, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claimed_by == worker, OutboxMessage.status == OutboxStatus.SENDING)
            .order_by(OutboxMessage.id)
        )
    )


def _to_mail(message: OutboxMessage) -> Message:
    return Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )


def is_permanent(error: Exception) -> bool:
    """An SMTP 5xx answer (e.g. an unknown recipient) will not change on retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _record_failure(message: OutboxMessage, error: Exception) -> None:
    message.attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    message.claimed_by = None
    message.claimed_at = None
    if is_permanent(error) or message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = utcnow() + backoff(message.attempts)


def _record_success(message: OutboxMessage) -> None:
    message.attempts += 1
    message.status = OutboxStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
    message.claimed_by = None
    if message.sensitive:
        message.body_text = message.body_html = ERASED_BODY


def deliver_due(session: Session, *, worker: str | None = None, limit: int = 50) -> dict:
    """One pass of the worker: claim due rows, send them, record what happened."""
    worker = worker or worker_id()
    counts = {"sent": 0, "retry": 0, "failed": 0, "stale": release_stale_claims(session)}
    session.commit()
    messages = claim_due(session, worker, limit)
    if not messages:
        return counts
    try:
        with mail.connect() as connection:
            for message in messages:
                try:
                    connection.send(_to_mail(message))
                except Exception as error:  # noqa: BLE001 - recorded on the row, retried later
                    log.warning("outbox: message %s not sent: %s", message.id, error)
                    _record_failure(message, error)
                else:
                    _record_success(message)
                # Commit each result at once: a crash later must not make a sent row pending.
                session.commit()
    except Exception as error:  # noqa: BLE001 - the server could not be reached or hung up
        log.warning("outbox: mail server unavailable: %s", error)
        for message in messages:
            if message.status == OutboxStatus.SENDING:
                _record_failure(message, error)
        session.commit()
    _count(messages, counts)
    return counts


def _count(messages: list[OutboxMessage], counts: dict) -> None:
    for message in messages:
        if message.status == OutboxStatus.SENT:
            counts["sent"] += 1
        elif message.status == OutboxStatus.FAILED:
            counts["failed"] += 1
        else:
            counts["retry"] += 1


def requeue(session: Session, message: OutboxMessage, *, actor) -> None:
    """Give a failed message a fresh set of attempts (an administrator's decision)."""
    if message.status != OutboxStatus.FAILED:
        raise ValueError("only failed messages can be re-queued")
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_by = None
    message.claimed_at = None
    record(session, "outbox.requeued", actor=actor, obj=message)
