from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.api.models import ApiToken
from app.core.db import utcnow
from tests.api.conftest import bearer


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == code
    assert error["title"] and error["message"]
    return error


def test_no_token_is_401_with_a_json_error(client):
    response = client.get("/api/v1/me")
    _assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer trc_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "trc_abc"]
)
def test_a_wrong_token_is_401(client, header):
    _assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_a_valid_token_acts_as_its_user(client, db, make_token, make_user, make_organisation):
    organisation = make_organisation("Comune di Legnano")
    user = make_user(Role.STAKEHOLDER, organisation=organisation)
    token, secret = make_token(user)
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "roles": ["stakeholder"],
        "organisation": {"id": organisation.id, "name": "Comune di Legnano", "kind": "comune"},
    }
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None
    assert "Set-Cookie" not in response.headers  # no session is started for API calls


def test_a_revoked_token_or_deactivated_user_is_refused(client, db, make_token):
    token, secret = make_token()
    token.revoked_at = utcnow()
    db.session.commit()
    _assert_error(client.get("/api/v1/me", headers=bearer(secret)), 401, "unauthorized")
    other, other_secret = make_token()
    other.user.active = False
    db.session.commit()
    _assert_error(client.get("/api/v1/me", headers=bearer(other_secret)), 401, "unauthorized")


def test_tokens_are_rate_limited(client, config, make_token):
    config["API_RATE_LIMIT_PER_MINUTE"] = 3
    _, secret = make_token()
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    response = client.get("/api/v1/me", headers=bearer(secret))
    _assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


def test_failed_authentications_are_rate_limited_per_client(client, config):
    config["API_AUTH_FAILURES_PER_MINUTE"] = 2
    for _ in range(2):
        client.get("/api/v1/me", headers=bearer("trc_guess"))
    _assert_error(client.get("/api/v1/me", headers=bearer("trc_guess")), 429, "rate_limited")


def test_unknown_api_path_is_a_json_404(client):
    _assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_messages_follow_accept_language(client):
    italian = client.get("/api/v1/me").get_json()["error"]["message"]
    english = client.get("/api/v1/me", headers={"Accept-Language": "en"}).get_json()["error"]
    assert english["message"].startswith("A valid API token is required")
    assert italian != english["message"]


def test_openapi_document_is_public_and_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    documented = set(spec["paths"])
    routes = {
        rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
    }
    assert routes == documented


def test_bad_tokens_from_an_address_do_not_lock_out_the_valid_tokens_from_it(
    client, config, make_token
):
    """Issue 11: failures are counted by address, requests by token, separately."""
    config["API_AUTH_FAILURES_PER_MINUTE"] = 20
    _, secret = make_token()
    for _ in range(20):
        client.get("/api/v1/me", headers=bearer("trc_guess"))
    _assert_error(client.get("/api/v1/me", headers=bearer("trc_guess")), 429, "rate_limited")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_each_token_has_its_own_budget(client, config, make_token):
    config["API_RATE_LIMIT_PER_MINUTE"] = 2
    _, first = make_token()
    _, second = make_token()
    for _ in range(2):
        client.get("/api/v1/me", headers=bearer(first))
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 429
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200


def test_limits_are_kept_by_flask_limiter_in_the_configured_storage(app):
    from flask_limiter import Limiter
    from limits.storage import MemoryStorage

    from app.api.ratelimit import limiter

    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert isinstance(limiter.extension, Limiter)
    assert isinstance(limiter.extension.storage, MemoryStorage)
