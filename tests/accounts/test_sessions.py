"""Finding 4 of issue 11 (and issue 10's "Sessions"): a session has a server-side identity.

The cookie carries a random session token; the server keeps its SHA-256 in ``user_sessions``.
Logging out ends that session, a password change ends every other one, a deactivation ends
them all: a cookie copied before then is useless afterwards.
"""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role, UserSession
from tests.fixtures.factories import PASSWORD, csrf_token, login

COOKIE = "traccia_session"
NEW_PASSWORD = "una passphrase nuova"


def _copy_cookie(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    copy = app.test_client()
    copy.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return copy


def _logged_in(client) -> bool:
    response = client.get("/account/password")
    return response.status_code == 200


def test_a_cookie_replayed_after_logout_is_refused(app, db, make_user):
    user = make_user(Role.STAKEHOLDER)
    browser = app.test_client()
    assert login(browser, user).status_code == 302
    saved = _copy_cookie(app, browser)
    assert _logged_in(saved)  # the copy works while the session lives

    token = csrf_token(browser, "/account/password")
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _logged_in(saved)
    assert saved.get("/account/password").headers["Location"].startswith("/login")
    [row] = db.session.scalars(select(UserSession)).all()
    assert row.user_id == user.id and row.ended_at is not None and row.end_reason == "logout"


def test_logging_out_ends_only_that_session(app, make_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/account/password")})
    assert not _logged_in(phone) and _logged_in(laptop)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, make_user):
    user = make_user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user)
    saved = _copy_cookie(app, here)
    response = here.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(here, "/account/password"),
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)
    assert not _logged_in(saved)  # the cookie from before the change is over too


def test_deactivation_ends_every_session_and_reactivation_revives_none(app, db, make_user):
    user = make_user()
    browser = app.test_client()
    login(browser, user)
    saved = _copy_cookie(app, browser)
    admin = make_user(Role.ADMIN)
    admin_browser = app.test_client()
    login(admin_browser, admin)
    token = csrf_token(admin_browser, f"/admin/users/{user.id}")
    for active in ("0", "1"):
        admin_browser.post(
            f"/admin/users/{user.id}/active", data={"csrf_token": token, "active": active}
        )
    assert not _logged_in(browser) and not _logged_in(saved)
    reasons = db.session.scalars(
        select(UserSession.end_reason).where(UserSession.user_id == user.id)
    )
    assert set(reasons) == {"deactivated"}


def test_the_database_holds_only_a_hash_of_the_session_token(app, db, make_user):
    user = make_user()
    browser = app.test_client()
    login(browser, user)
    cookie = browser.get_cookie(COOKIE).value
    [row] = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(row.token_hash) == 64 and row.token_hash not in cookie
