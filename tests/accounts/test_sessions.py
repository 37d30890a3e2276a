"""Finding 4 of issue 11 (and issue 10's "Sessions"): a session has a server-side identity.

The cookie carries a random session token; the server keeps its SHA-256 in ``user_sessions``.
Logging out ends that session, a password change ends every other one, a deactivation ends
them all: a cookie copied before then is useless afterwards.
"""

from __future__ import annotations

import time_machine
from sqlalchemy import event, select

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


# Time-outs and "log out everywhere" (issue 15, "Sessions and login") -----------------------


def test_a_session_unused_for_longer_than_the_idle_time_out_ends(app, db, make_user, config):
    config["SESSION_IDLE_SECONDS"] = 30 * 60
    user = make_user()
    browser = app.test_client()
    with time_machine.travel("2026-12-02 09:00 +0000", tick=False) as clock:
        login(browser, user)
        clock.shift(29 * 60)
        assert _logged_in(browser)  # used at 9:29: the idle clock starts again
        clock.shift(29 * 60)
        assert _logged_in(browser)  # 9:58, 29 minutes after the last request
        clock.shift(31 * 60)
        assert not _logged_in(browser)  # 10:29, 31 minutes idle
        clock.shift(-31 * 60)
        assert not _logged_in(browser)  # ended for good, not only refused at that hour
    [row] = db.session.scalars(select(UserSession)).all()
    assert row.end_reason == "idle"


def test_a_busy_session_still_ends_at_the_absolute_time_out(app, db, make_user, config):
    config["SESSION_IDLE_SECONDS"] = 3600
    config["SESSION_ABSOLUTE_SECONDS"] = 4 * 3600
    user = make_user()
    browser = app.test_client()
    with time_machine.travel("2026-12-02 08:00 +0000", tick=False) as clock:
        login(browser, user)
        for _ in range(7):
            clock.shift(30 * 60)
            assert _logged_in(browser)  # every half hour until 11:30
        clock.shift(30 * 60)
        assert not _logged_in(browser)  # 12:00: four hours after the login
    [row] = db.session.scalars(select(UserSession)).all()
    assert row.end_reason == "expired"


def test_log_out_everywhere_asks_first_then_ends_every_session(app, db, make_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    token = csrf_token(laptop, "/account/password")

    asked = laptop.post("/logout/everywhere", data={"csrf_token": token})
    assert asked.status_code == 200 and "compreso questo" in asked.get_data(as_text=True)
    assert _logged_in(phone) and _logged_in(laptop)  # nothing happened yet

    done = laptop.post("/logout/everywhere", data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].startswith("/login")
    assert not _logged_in(phone) and not _logged_in(laptop)
    reasons = db.session.scalars(select(UserSession.end_reason)).all()
    assert reasons == ["everywhere", "everywhere"]
    assert login(phone, user).status_code == 302 and _logged_in(phone)  # a new login works


def test_a_session_in_use_writes_its_last_use_at_most_once_a_minute(app, db, make_user):

    user = make_user()
    browser = app.test_client()
    writes: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS"):
            writes.append(statement)

    with time_machine.travel("2026-12-02 09:00 +0000", tick=False) as clock:
        login(browser, user)
        event.listen(db.engine, "before_cursor_execute", before)
        try:
            for _ in range(5):
                clock.shift(10)
                assert _logged_in(browser)
            assert writes == []  # 50 seconds: nothing written
            clock.shift(15)
            assert _logged_in(browser)
            assert len(writes) == 1
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
