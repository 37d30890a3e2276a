"""The outbox with a real SMTP server: nothing lost, nothing sent twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.core.db import utcnow
from app.extensions import db as _db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.operations import deliver_due, queue_email, requeue


def _queue(db, count=1, to="someone@example.org"):
    for _ in range(count):
        queue_email(
            db.session,
            to=to,
            template="accounts/email/welcome",
            context={
                "user": type("U", (), {"display_name": "Ada"})(),
                "link": "http://x/y",
                "hours": 1,
            },
        )
    db.session.commit()


def _statuses(db) -> list[OutboxStatus]:
    db.session.expire_all()
    return [m.status for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_a_rolled_back_change_leaves_no_message(db, smtp):
    queue_email(
        db.session,
        to="a@example.org",
        template="accounts/email/welcome",
        context={"user": type("U", (), {"display_name": "Ada"})(), "link": "l", "hours": 1},
    )
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []
    deliver_due(db.session)
    assert smtp.inbox.messages == []


def test_a_message_has_text_and_html_in_the_recipients_language(db, smtp):
    queue_email(
        db.session,
        to="en@example.org",
        template="accounts/email/welcome",
        context={"user": type("U", (), {"display_name": "Ada"})(), "link": "http://l", "hours": 2},
        locale="en",
    )
    db.session.commit()
    deliver_due(db.session)
    [message] = smtp.inbox.to("en@example.org")
    assert "Your Traccia account" in message["Subject"]
    assert "http://l" in smtp.inbox.text(message)
    assert 'href="http://l"' in smtp.inbox.html(message)


def test_mail_server_down_keeps_the_message_then_delivers_it_once(db, smtp, config):
    _queue(db)
    smtp.stop()
    counts = deliver_due(db.session)
    assert counts["retry"] == 1
    [message] = db.session.scalars(select(OutboxMessage)).all()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1 and message.last_error
    assert message.next_attempt_at > utcnow()

    smtp.start()
    assert deliver_due(db.session)["sent"] == 0  # not due yet: backoff
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        assert deliver_due(db.session)["sent"] == 1
        assert deliver_due(db.session)["sent"] == 0
    assert len(smtp.inbox.messages) == 1
    assert _statuses(db) == [OutboxStatus.SENT]


def test_gives_up_after_the_configured_attempts_and_can_be_requeued(db, smtp, config, make_user):
    config["OUTBOX_MAX_ATTEMPTS"] = 2
    _queue(db)
    smtp.stop()
    moment = utcnow()
    for hour in range(3):
        with time_machine.travel(moment + timedelta(hours=hour), tick=False):
            deliver_due(db.session)
    assert _statuses(db) == [OutboxStatus.FAILED]
    smtp.start()
    message = db.session.scalars(select(OutboxMessage)).one()
    requeue(db.session, message, actor=make_user())
    db.session.commit()
    deliver_due(db.session)
    assert _statuses(db) == [OutboxStatus.SENT]
    assert len(smtp.inbox.messages) == 1


def test_two_workers_at_once_deliver_each_message_once(app, db, smtp):
    _queue(db, count=40)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work():
        try:
            with app.app_context():
                barrier.wait()
                while deliver_due(_db.session, limit=5)["sent"]:
                    pass
                _db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(smtp.inbox.messages) == 40
    assert set(_statuses(db)) == {OutboxStatus.SENT}


@pytest.mark.parametrize("stale", [True, False])
def test_a_claim_left_by_a_dead_worker_is_failed_not_resent(db, smtp, config, stale):
    _queue(db)
    message = db.session.scalars(select(OutboxMessage)).one()
    message.status = OutboxStatus.SENDING
    message.claimed_by = "dead-worker"
    message.claimed_at = utcnow() - timedelta(
        seconds=config["OUTBOX_CLAIM_TIMEOUT_SECONDS"] + 1 if stale else 1
    )
    db.session.commit()
    deliver_due(db.session)
    assert smtp.inbox.messages == []
    assert _statuses(db) == [OutboxStatus.FAILED if stale else OutboxStatus.SENDING]


def test_a_refused_recipient_fails_at_once_without_retrying(db, smtp):
    smtp.inbox.refused.add("nobody@example.org")
    _queue(db, to="nobody@example.org")
    _queue(db, to="somebody@example.org")
    counts = deliver_due(db.session)
    assert counts == {"sent": 1, "retry": 0, "failed": 1, "stale": 0}
    failed = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    ).one()
    assert failed.recipient == "nobody@example.org"
    assert "550" in failed.last_error
    assert [m["To"] for m in smtp.inbox.messages] == ["somebody@example.org"]


def test_a_reset_request_succeeds_while_the_mail_server_is_down(client, db, smtp, make_user):
    from tests.fixtures.factories import csrf_token

    user = make_user()
    smtp.stop()
    token = csrf_token(client, "/password/forgot")
    response = client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    assert response.status_code == 302
    deliver_due(db.session)
    assert _statuses(db) == [OutboxStatus.PENDING]
    smtp.start()
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        deliver_due(db.session)
        deliver_due(db.session)
    assert len(smtp.inbox.to(user.email)) == 1
