from __future__ import annotations

import re

import pytest

from app.accounts.models import Role, User
from app.core.permissions import PREDICATES
from app.core.security import is_public_endpoint
from tests.fixtures.factories import csrf_token

#: The whole list of pages reachable without logging in. Adding to it is a decision: make it here.
PUBLIC_ENDPOINTS = {
    "core.home",
    "core.healthz",
    "core.set_language",
    "core.privacy",
    "accounts.login",
    "accounts.forgot_password",
    "accounts.reset_password",
    # An invited referent has no account yet: the single-use link is their only credential.
    "stakeholders.accept_invitation",
    # Plans: frozen and adopted versions are public by default; each view still checks the
    # plan's audience (and drafts are for staff only) with can_see_plan / can_read_version.
    "plans.index",
    "plans.show_plan",
    "plans.read_version",
    "plans.read_section",
    "plans.paragraph_link",
    "plans.diff",
    "api.openapi",
    "observations.track",
    "decisions.trace",
    "decisions.trace_receipt",
    "reports.by_observation",  # a draft for staff (others are asked to log in), then public
    "reports.observation",
    "reports.round_statistics",
    "reports.export",
    "reports.by_section",
    "reports.section",
    "reports.exports_page",
    "reports.download_annex",  # a draft's or a staff-only file to staff; the public annex after
    "opendata.rounds",  # the open-data API: concluded public rounds only
    "opendata.round_",
    "opendata.points",
    "opendata.changes",
    # After the close of a round that publishes them: its observations, redacted, for anyone
    # the plan is shown to (can_read_publication).
    "publication.published_round",
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def test_only_the_listed_endpoints_are_public(app):
    public = {rule.endpoint for rule in _routes(app) if is_public_endpoint(app, rule.endpoint)}
    assert public == PUBLIC_ENDPOINTS


def _sample_url(rule) -> str:
    url = rule.rule
    for argument in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{argument}>", "1", url)
    return url


def test_every_other_endpoint_needs_a_login(app, client):
    for rule in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_sample_url(rule), method=method)
            if rule.endpoint.startswith("api."):  # the API wants a token, not a session
                assert response.status_code == 401, (rule.rule, method)
                continue
            assert response.status_code in (302, 400, 401), (rule.rule, method)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login?next="), rule.rule
            elif method == "POST" and response.status_code == 400:
                # the CSRF check runs first; it must not let the request through either
                assert (
                    "nothing was changed" in response.get_data(as_text=True).lower()
                    or "nulla è stato modificato" in response.get_data(as_text=True).lower()
                )


def test_security_headers_on_every_response(client):
    for path in ("/", "/login", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    from tests.fixtures.factories import login

    login(client, make_user())
    cookie = client.get_cookie("traccia_session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client, db, make_user):
    user = make_user(Role.STAKEHOLDER)
    response = client.post("/login", data={"email": user.email, "password": "x" * 12})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<html" in body
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is None


def test_a_stale_csrf_token_is_refused(client, make_user):
    user = make_user()
    token = csrf_token(client, "/login")
    client.delete_cookie("traccia_session")  # the token belonged to a session that is gone
    response = client.post(
        "/login", data={"email": user.email, "password": "x" * 12, "csrf_token": token}
    )
    assert response.status_code == 400


def test_unknown_url_is_a_404_page(client):
    response = client.get("/this/does/not/exist")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_wrong_method_is_a_405_page(client):
    response = client.get("/logout")
    assert response.status_code in (302, 405)  # login first, by deny-by-default
    response = client.put("/login")
    assert response.status_code == 405


def test_oversized_request_is_a_413_page(client, config):
    config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "a" * 5000, "password": "x"})
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_login_never_redirects_off_site(client, make_user, target):
    from tests.fixtures.factories import PASSWORD

    user = make_user()
    token = csrf_token(client, "/login")
    response = client.post(
        f"/login?next={target}",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_behind_a_trusted_proxy_the_client_address_is_audited(database_url, db):
    from sqlalchemy import select

    from app import create_app
    from app.core.audit import AuditEntry
    from config import TestConfig

    proxied = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=database_url, PROXY_COUNT=1, WTF_CSRF_ENABLED=False
    )
    proxied.test_client().post(
        "/login",
        data={"email": "someone@example.org", "password": "wrong password"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.login_failed")
    ).one()
    assert entry.address.ip_address == "203.0.113.7"


def test_every_endpoint_names_its_permission(app):
    """The permission matrix starts here: every route that is not public says, on its view
    (``view.permission``), which named predicates admit a user, in the order they are asked;
    public pages that check an object say so too. No anonymous lambdas: each predicate is in
    the vocabulary (``PREDICATES``) that templates and docs/architecture.md share."""
    missing, unnamed = [], []
    for rule in _routes(app):
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "permission", None)
        if permission is None:
            if rule.endpoint not in PUBLIC_ENDPOINTS:
                missing.append(rule.endpoint)
            continue
        for predicate in permission.predicates:
            if PREDICATES.get(predicate.__name__) is not predicate:
                unnamed.append((rule.endpoint, predicate.__name__))
    assert missing == []
    assert unnamed == []


def test_the_vocabulary_is_documented():
    """Every predicate has a row in the permission table of docs/architecture.md."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    undocumented = [name for name in PREDICATES if not re.search(rf"\| `{name}[`(]", doc)]
    assert undocumented == []
