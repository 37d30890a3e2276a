from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from app.core.db import utcnow
from app.notifications.models import OutboxMessage
from app.notifications.operations import deliver_due
from tests.fixtures.factories import PASSWORD, csrf_token, login

NEW_PASSWORD = "a brand new passphrase"


def _change(client, current, new, confirm=None):
    token = csrf_token(client, "/account/password")
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": new,
            "confirm": confirm if confirm is not None else new,
            "csrf_token": token,
        },
    )


def test_change_password(client, make_user):
    user = make_user()
    login(client, user)
    assert _change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    # this session stays valid; the new password works and the old one no longer does
    assert client.get("/account/password").status_code == 200
    other = client.application.test_client()
    assert login(other, user, password=PASSWORD).status_code == 401
    assert login(other, user, password=NEW_PASSWORD).status_code == 302


def test_change_password_signs_out_other_sessions(app, make_user):
    user = make_user()
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    assert _change(first, PASSWORD, NEW_PASSWORD).status_code == 302
    assert second.get("/account/password").status_code == 302  # sent to the login page


def test_change_password_refuses_a_wrong_current_password(client, make_user):
    user = make_user()
    login(client, user)
    response = _change(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert login(client.application.test_client(), user).status_code == 302  # unchanged


def test_change_password_refuses_a_short_or_mismatched_password(client, make_user):
    user = make_user()
    login(client, user)
    assert 'aria-invalid="true"' in _change(client, PASSWORD, "short").get_data(as_text=True)
    mismatch = _change(client, PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert 'aria-invalid="true"' in mismatch.get_data(as_text=True)
    assert login(client.application.test_client(), user).status_code == 302


def _request_reset(client, email):
    token = csrf_token(client, "/password/forgot")
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def _link_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://localhost(/password/reset/[\w-]+)", text)
    assert match, text
    return match.group(1)


def _set_password(client, path, password):
    token = csrf_token(client, path)
    return client.post(path, data={"password": password, "confirm": password, "csrf_token": token})


def test_password_reset_by_email(client, db, smtp, make_user):
    user = make_user()
    response = _request_reset(client, user.email.upper())
    assert response.status_code == 302
    assert deliver_due(db.session)["sent"] == 1
    [message] = smtp.inbox.to(user.email)
    path = _link_in(message)
    assert _set_password(client, path, NEW_PASSWORD).status_code == 302
    assert login(client, user, password=NEW_PASSWORD).status_code == 302

    # single use: the same link now shows a clear page and changes nothing
    again = client.application.test_client()
    assert again.get(path).status_code == 404
    assert _set_password_status(again, path) == 404


def _set_password_status(client, path) -> int:
    token = csrf_token(client, "/password/forgot")
    data = {"password": "another passphrase", "confirm": "another passphrase", "csrf_token": token}
    return client.post(path, data=data).status_code


def test_reset_link_expires(client, db, smtp, make_user, config):
    user = make_user()
    _request_reset(client, user.email)
    deliver_due(db.session)
    path = _link_in(smtp.inbox.to(user.email)[0])
    later = utcnow() + timedelta(seconds=config["PASSWORD_RESET_TTL"] + 60)
    with time_machine.travel(later, tick=False):
        response = client.get(path)
        assert response.status_code == 404
        assert "expired" in response.get_data(as_text=True) or "scaduto" in response.get_data(
            as_text=True
        )


def test_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, db, smtp):
    response = _request_reset(client, "nobody@example.org")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    deliver_due(db.session)
    assert smtp.inbox.messages == []


def test_reset_mail_body_is_erased_once_delivered(client, db, smtp, make_user):
    user = make_user()
    _request_reset(client, user.email)
    deliver_due(db.session)
    stored = db.session.scalars(select(OutboxMessage)).one()
    assert "/password/reset/" not in stored.body_text + stored.body_html


def test_reset_signs_out_existing_sessions(app, db, smtp, make_user):
    user = make_user()
    browser = app.test_client()
    login(browser, user)
    anonymous = app.test_client()
    _request_reset(anonymous, user.email)
    deliver_due(db.session)
    _set_password(anonymous, _link_in(smtp.inbox.to(user.email)[0]), NEW_PASSWORD)
    assert browser.get("/account/password").status_code == 302


def test_reset_links_are_limited_per_hour_without_saying_so(client, db, smtp, make_user, config):
    user = make_user()
    answers = set()
    for _ in range(config["PASSWORD_RESET_MAX_PER_HOUR"] + 2):
        response = _request_reset(client, user.email)
        answers.add((response.status_code, response.headers["Location"]))
    assert len(answers) == 1  # the same answer every time
    deliver_due(db.session)
    assert len(smtp.inbox.to(user.email)) == config["PASSWORD_RESET_MAX_PER_HOUR"]
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=1), tick=False):
        _request_reset(client, user.email)
        deliver_due(db.session)
    assert len(smtp.inbox.to(user.email)) == config["PASSWORD_RESET_MAX_PER_HOUR"] + 1
