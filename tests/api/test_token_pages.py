from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.api.models import ApiToken
from app.core.audit import AuditEntry
from tests.api.conftest import bearer
from tests.fixtures.factories import csrf_token


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.MODERATOR, Role.EDITOR])
def test_only_admins_manage_tokens(logged_in, make_token, role):
    token, _ = make_token()
    client, _ = logged_in(role)
    assert client.get("/admin/api-tokens/").status_code == 403
    csrf = csrf_token(client, "/account/password")
    assert client.post("/admin/api-tokens/", data={"csrf_token": csrf}).status_code == 403
    response = client.post(f"/admin/api-tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get("/admin/api-tokens/").status_code == 302


def _create(client, **data):
    return client.post(
        "/admin/api-tokens/", data={"csrf_token": csrf_token(client, "/admin/api-tokens/"), **data}
    )


def test_admin_creates_a_token_shown_once_that_works(app, logged_in, db, make_user):
    client, admin = logged_in(Role.ADMIN)
    user = make_user(Role.MODERATOR, email="protocollo@example.org")
    response = _create(client, email="PROTOCOLLO@example.org", name="Protocollo informatico")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(trc_[^"]+)"', response.get_data(as_text=True)).group(1)
    token = db.session.scalars(select(ApiToken)).one()
    assert token.user_id == user.id and token.created_by_id == admin.id
    assert secret not in token.token_hash and token.prefix == secret[:12]
    listing = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert "Protocollo informatico" in listing and secret not in listing
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert (
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.created"))
        .one()
        .actor_id
        == admin.id
    )


def test_unknown_or_deactivated_account_gets_a_field_error(logged_in, db, make_user):
    client, _ = logged_in(Role.ADMIN)
    response = _create(client, email="nobody@example.org", name="x")
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    make_user(Role.MODERATOR, email="gone@example.org", active=False)
    response = _create(client, email="gone@example.org", name="x")
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken)).all() == []


def test_admin_revokes_a_token(app, logged_in, db, make_token):
    token, secret = make_token()
    client, _ = logged_in(Role.ADMIN)
    csrf = csrf_token(client, "/admin/api-tokens/")
    confirmed = {"csrf_token": csrf, "confirmed": "1"}
    assert client.post(f"/admin/api-tokens/{token.id}/revoke", data=confirmed).status_code == 302
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert (
        client.post("/admin/api-tokens/99999/revoke", data={"csrf_token": csrf}).status_code == 404
    )
