from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.operations import queue_email
from tests.fixtures.factories import csrf_token


@pytest.fixture
def failed_message(db):
    message = queue_email(
        db.session,
        to="lost@example.org",
        template="accounts/email/password_reset",
        context={
            "user": type("U", (), {"display_name": "Ada"})(),
            "link": "http://localhost/password/reset/SECRET-TOKEN",
            "hours": 1,
        },
        sensitive=True,
    )
    message.status = OutboxStatus.FAILED
    message.attempts = 8
    message.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    db.session.commit()
    return message


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.MODERATOR, Role.EDITOR])
def test_only_admins_see_the_outbox(logged_in, failed_message, role):
    client, _ = logged_in(role)
    assert client.get("/admin/outbox/").status_code == 403
    token = csrf_token(client, "/account/password")
    response = client.post(f"/admin/outbox/{failed_message.id}/requeue", data={"csrf_token": token})
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(client, failed_message):
    assert client.get("/admin/outbox/").status_code == 302
    assert client.post(f"/admin/outbox/{failed_message.id}/requeue").status_code in (302, 400)


def test_admin_sees_failed_messages_but_never_a_secret(logged_in, failed_message):
    client, _ = logged_in(Role.ADMIN)
    page = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "lost@example.org" in page
    assert "Connection refused" in page
    assert "SECRET-TOKEN" not in page
    assert client.get("/admin/outbox/?status=bogus").status_code == 404


def test_admin_requeues_a_failed_message(logged_in, db, failed_message):
    client, admin = logged_in(Role.ADMIN)
    token = csrf_token(client, "/admin/outbox/?status=failed")
    response = client.post(f"/admin/outbox/{failed_message.id}/requeue", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    message = db.session.get(OutboxMessage, failed_message.id)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "outbox.requeued")
    ).one()
    assert entry.actor_id == admin.id


def test_requeueing_a_message_that_did_not_fail_changes_nothing(logged_in, db, failed_message):
    client, _ = logged_in(Role.ADMIN)
    failed_message.status = OutboxStatus.SENT
    db.session.commit()
    token = csrf_token(client, "/admin/outbox/")
    client.post(f"/admin/outbox/{failed_message.id}/requeue", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(OutboxMessage, failed_message.id).status == OutboxStatus.SENT
    assert (
        client.post("/admin/outbox/999999/requeue", data={"csrf_token": token}).status_code == 404
    )
