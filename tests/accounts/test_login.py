from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.accounts.models import Role, User
from app.core.audit import AuditEntry
from app.core.db import utcnow
from tests.fixtures.factories import PASSWORD, csrf_token, login

GENERIC = ("E-mail address or password not correct", "Indirizzo e-mail o password non corretti")


def _has_generic_error(response) -> bool:
    body = response.get_data(as_text=True)
    return any(message in body for message in GENERIC)


def _actions(db, user=None) -> list[str]:
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if user is not None:
        query = query.where(AuditEntry.object_id == str(user.id))
    return list(db.session.scalars(query))


def test_login_with_the_right_password(client, db, make_user):
    user = make_user(Role.STAKEHOLDER)
    response = login(client, user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert user.display_name in page
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None
    assert "auth.login" in _actions(db, user)


def test_email_is_matched_without_regard_to_case(client, make_user):
    user = make_user(email="Mixed.Case@Example.org")
    assert user.email == "mixed.case@example.org"
    assert login(client, "MIXED.case@example.ORG").status_code == 302


def test_login_starts_a_new_session(client, make_user):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_wrong_password_and_unknown_address_get_the_same_message(client, db, make_user):
    user = make_user()
    wrong = login(client, user, password="not the password")
    unknown = login(client, "nobody@example.org", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert _has_generic_error(wrong) and _has_generic_error(unknown)
    assert _actions(db).count("auth.login_failed") == 2


def test_an_inactive_account_cannot_log_in(client, make_user):
    user = make_user(active=False)
    response = login(client, user)
    assert response.status_code == 401
    assert _has_generic_error(response)


def test_five_failures_throttle_the_account_but_not_another(client, db, make_user, config):
    victim = make_user()
    bystander = make_user()
    for _ in range(config["LOGIN_THROTTLE_MAX_FAILURES"]):
        assert login(client, victim, password="guess-guess-guess").status_code == 401
    refused = login(client, victim)  # even the right password waits out the window
    assert refused.status_code == 429
    assert "auth.login_throttled" in _actions(db, victim)
    assert login(client, bystander).status_code == 302


def test_unknown_addresses_are_throttled_like_known_ones(client, config):
    for _ in range(config["LOGIN_THROTTLE_MAX_FAILURES"]):
        login(client, "ghost@example.org", password="guess-guess-guess")
    assert login(client, "ghost@example.org", password="guess-guess-guess").status_code == 429


def test_throttling_ends_when_the_window_has_passed(client, make_user, config):
    user = make_user()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for _ in range(config["LOGIN_THROTTLE_MAX_FAILURES"]):
            login(client, user, password="guess-guess-guess")
        assert login(client, user).status_code == 429
    later = start + timedelta(seconds=config["LOGIN_THROTTLE_WINDOW"] + 1)
    with time_machine.travel(later, tick=False):
        assert login(client, user).status_code == 302


def test_logout_needs_a_post_with_csrf_and_ends_the_session(client, db, make_user):
    user = make_user()
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 302  # back to the login page
    assert "auth.logout" in _actions(db, user)


def test_login_page_redirects_a_logged_in_user(client, make_user):
    login(client, make_user())
    assert client.get("/login").status_code == 302


def test_login_returns_to_the_page_asked_for(client, make_user):
    user = make_user()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=/account/password",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/account/password"


def test_empty_fields_are_refused_with_field_messages(client):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_a_throttled_login_says_when_to_try_again(client, make_user, config):
    user = make_user()
    for _ in range(config["LOGIN_THROTTLE_MAX_FAILURES"]):
        login(client, user, password="guess-guess-guess")
    response = login(client, user)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == config["LOGIN_THROTTLE_WINDOW"]
