"""What can happen to an account. Functions here change state, write the audit entry and queue
mail; they flush but never commit (the caller's request or command commits once)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, lazyload

from app.accounts.models import (
    LoginThrottle,
    PasswordToken,
    Role,
    SessionEnd,
    User,
    UserSession,
    hash_session_token,
    new_session_token,
)
from app.accounts.passwords import hash_password, needs_rehash, verify_password
from app.core.audit import changes as audit_changes
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.core.urls import absolute_url
from app.notifications.models import OutboxMessage
from app.notifications.operations import render_email
from app.stakeholders.models import Organisation

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


class AccountError(Refusal):
    """A refusal to show the user as it is (the message is translatable)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a new password is refused, or None if it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return _l("The password must be at least %(n)d characters long.", n=PASSWORD_MIN_LENGTH)
    if len(password) > PASSWORD_MAX_LENGTH:
        return _l("The password must be at most %(n)d characters long.", n=PASSWORD_MAX_LENGTH)
    if len(set(password)) < 4:
        return _l("The password is too easy to guess: use more varied characters.")
    if email and password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        return _l("The password must not be your e-mail address.")
    return None


def _check_password(password: str, email: str | None) -> None:
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem, field="password")


# Logging in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    throttled: bool = False


def _count_attempt(session: Session, email: str, now) -> int:
    """Count one more login attempt for ``email`` and return the count in the window.

    One statement (an upsert with RETURNING, on SQLite and PostgreSQL): the database counts
    and records together, and PostgreSQL locks the row for concurrent attempts, so no two
    attempts read the same count.
    """
    table = LoginThrottle.__table__
    since = now - timedelta(seconds=current_app.config["LOGIN_THROTTLE_WINDOW"])
    moment = table.c.window_started_at.type
    expired = table.c.window_started_at < literal(since, moment)
    dialect = session.get_bind().dialect.name
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    statement = (
        insert.values(email=email, window_started_at=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[table.c.email],
            set_={
                "attempts": case((expired, 1), else_=table.c.attempts + 1),
                "window_started_at": case(
                    (expired, literal(now, moment)), else_=table.c.window_started_at
                ),
            },
        )
        .returning(table.c.attempts)
    )
    return session.execute(statement).scalar_one()


def authenticate(session: Session, email: str, password: str) -> LoginOutcome:
    """Check a login attempt, counting attempts per address for throttling.

    The attempt is counted before the password is checked (atomically, first thing in the
    transaction); a success then clears the count.
    """
    email = normalise_email(email)
    now = utcnow()
    attempts = _count_attempt(session, email, now)
    user = session.scalar(select(User).where(User.email == email))
    if attempts > current_app.config["LOGIN_THROTTLE_MAX_FAILURES"]:
        record(
            session, "auth.login_throttled", object_type="user", object_id=user.id if user else None
        )
        return LoginOutcome(None, throttled=True)

    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        record(
            session,
            "auth.login_failed",
            object_type="user",
            object_id=user.id if user else None,
            reason="inactive" if ok and user is not None else "bad_credentials",
        )
        return LoginOutcome(None)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.execute(delete(LoginThrottle).where(LoginThrottle.email == email))
    record(session, "auth.login", actor=user, obj=user)
    return LoginOutcome(user)


def start_session(session: Session, user: User) -> None:
    """Open a server-side session for ``user``; ``login_user`` then puts its token in the
    cookie (through ``User.get_id``)."""
    raw = new_session_token()
    now = utcnow()
    session.add(
        UserSession(
            user_id=user.id, token_hash=hash_session_token(raw), created_at=now, last_seen_at=now
        )
    )
    user._session_token = raw
    session.flush()


#: ``last_seen_at`` is written at most this often per session: a request a minute is enough
#: to tell an idle session, and most requests then write nothing.
SEEN_RESOLUTION = timedelta(minutes=1)


def load_session_user(session: Session, raw: str, *, now: datetime | None = None) -> User | None:
    """The active user whose live session has this token, or None.

    A session past its idle or absolute time-out (``SESSION_IDLE_SECONDS``,
    ``SESSION_ABSOLUTE_SECONDS``) is ended here and its user is anonymous again."""
    row = session.execute(
        select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == hash_session_token(raw),
            UserSession.ended_at.is_(None),
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    user, session_id, created_at, last_seen_at = row
    now = now or utcnow()
    config = current_app.config
    ended = None
    if now - created_at >= timedelta(seconds=config["SESSION_ABSOLUTE_SECONDS"]):
        ended = SessionEnd.EXPIRED
    elif now - last_seen_at >= timedelta(seconds=config["SESSION_IDLE_SECONDS"]):
        ended = SessionEnd.IDLE
    if ended is not None:
        _write_session(session, session_id, ended_at=now, end_reason=ended)
        return None
    if now - last_seen_at >= SEEN_RESOLUTION:
        _write_session(session, session_id, last_seen_at=now)
    user._session_token = raw
    return user


def _write_session(session: Session, session_id: int, **values) -> None:
    """Write to the session's row in a transaction of its own, committed at once: the user is
    loaded before the view runs, and whatever the view then does (a GET commits nothing, a
    refused form rolls back) must not undo that the session was used, or that it ended."""
    with session.get_bind().begin() as connection:
        connection.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
            .values(**values)
        )


def end_sessions(
    session: Session, user: User, reason: SessionEnd, *, only_current: bool = False
) -> None:
    """End the user's live sessions (or only the one this request runs in)."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if only_current:
        query = query.where(UserSession.token_hash == hash_session_token(user.get_id()))
    session.execute(query.values(ended_at=utcnow(), end_reason=reason))


def record_logout(session: Session, user: User) -> None:
    end_sessions(session, user, SessionEnd.LOGOUT, only_current=True)
    record(session, "auth.logout", actor=user, obj=user)


def logout_everywhere(session: Session, user: User) -> None:
    """End every live session of the user, this one included (a lost phone, a shared PC)."""
    end_sessions(session, user, SessionEnd.EVERYWHERE)
    record(session, "auth.logout_everywhere", actor=user, obj=user)


# Passwords ---------------------------------------------------------------------------------


def hash_token(raw: str) -> str:
    """What is stored of a token sent by e-mail (password links, invitations)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise AccountError(_l("The current password is not correct."), field="current_password")
    _check_password(new, user.email)
    _set_password(session, user, new)
    record(session, "auth.password_changed", actor=user, obj=user)


def _set_password(session: Session, user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    # A new password ends every session of the user (the view starts a new one for the
    # browser that changed it) and voids pending links.
    end_sessions(session, user, SessionEnd.PASSWORD)
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def set_password(session: Session, user: User, new: str) -> None:
    """Set a password chosen through an e-mailed link other than a reset (e.g. an invitation)."""
    _check_password(new, user.email)
    _set_password(session, user, new)


def issue_password_link(
    session: Session, user: User, *, welcome: bool = False, actor: User | None = None
) -> None:
    """Queue an e-mail with a single-use link to set a password (reset, or first password)."""
    token, message = _password_link(user, welcome=welcome)
    session.add(token)
    session.add(message)
    record(
        session,
        "auth.welcome_sent" if welcome else "auth.password_reset_requested",
        actor=actor,
        obj=user,
    )


def _password_link(user: User, *, welcome: bool = False) -> tuple[PasswordToken, OutboxMessage]:
    """The token row and the rendered e-mail of a password link, added to no session."""
    raw = secrets.token_urlsafe(32)
    ttl = current_app.config["PASSWORD_RESET_TTL"]
    if welcome:
        ttl = max(ttl, 7 * 24 * 3600)
    now = utcnow()
    token = PasswordToken(
        user_id=user.id,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    link = absolute_url("accounts.reset_password", token=raw)
    message = render_email(
        to=user.email,
        template="accounts/email/welcome" if welcome else "accounts/email/password_reset",
        context={"user": user, "link": link, "hours": max(1, ttl // 3600)},
        locale=user.locale,
        sensitive=True,
    )
    return token, message


def request_password_reset(session: Session, email: str) -> None:
    """Queue a reset link if an active account has this address; say nothing either way.

    At most PASSWORD_RESET_MAX_PER_HOUR links an hour per account, so that the form cannot be
    used to flood someone's inbox; the page answers the same whether a link was sent or not.
    The work is the same too (issue 11, finding 8): the same queries, the link made and the
    e-mail rendered whether or not an account has the address; only the rows are not added.
    """
    address = normalise_email(email)
    # Roles are not loaded: their extra query would run for known addresses only.
    user = session.scalar(
        select(User).where(User.email == address).options(lazyload(User.role_rows))
    )
    eligible = user is not None and user.active
    recent = session.scalar(
        select(func.count(PasswordToken.id)).where(
            PasswordToken.user_id == (user.id if eligible else -1),
            PasswordToken.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    stand_in = user if eligible else User(id=-1, email=address, display_name="", locale=None)
    token, message = _password_link(stand_in)
    if not eligible:
        record(session, "auth.password_reset_unknown", object_type="user")
    elif recent >= current_app.config["PASSWORD_RESET_MAX_PER_HOUR"]:
        record(session, "auth.password_reset_throttled", obj=user)
    else:
        session.add(token)
        session.add(message)
        record(session, "auth.password_reset_requested", obj=user)


def find_password_token(session: Session, raw: str) -> PasswordToken | None:
    """The token if it exists, is unused, unexpired and its user active; otherwise None."""
    token = session.scalar(select(PasswordToken).where(PasswordToken.token_hash == hash_token(raw)))
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token


def reset_password(session: Session, raw: str, new: str) -> User:
    token = find_password_token(session, raw)
    if token is None:
        raise AccountError(_l("This link is not valid any more: it has expired or was used."))
    user = token.user
    _check_password(new, user.email)
    _set_password(session, user, new)
    token.used_at = utcnow()
    record(session, "auth.password_reset", actor=user, obj=user)
    return user


# Administration ----------------------------------------------------------------------------


def _check_roles_and_organisation(roles: set[Role], organisation: Organisation | None) -> None:
    if not roles:
        raise AccountError(_l("Choose at least one role."), field="roles")
    if Role.STAKEHOLDER in roles and organisation is None:
        raise AccountError(
            _l("A stakeholder must belong to an organisation."), field="organisation"
        )


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    roles: Iterable[Role],
    organisation: Organisation | None = None,
    password: str | None = None,
    locale: str | None = None,
    actor: User | None = None,
    send_welcome: bool = True,
) -> User:
    email = normalise_email(email)
    roles = set(roles)
    _check_roles_and_organisation(roles, organisation)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(_l("An account with this e-mail address already exists."), "email")
    if password is not None:
        _check_password(password, email)
    user = User(
        email=email,
        display_name=display_name.strip(),
        organisation=organisation,
        password_hash=hash_password(password) if password else None,
        locale=locale,
    )
    user.set_roles(roles)
    session.add(user)
    session.flush()
    record(
        session,
        "user.created",
        actor=actor,
        obj=user,
        roles=sorted(roles),
        organisation_id=organisation.id if organisation else None,
    )
    if send_welcome and password is None:
        issue_password_link(session, user, welcome=True, actor=actor)
    return user


def update_user(
    session: Session,
    user: User,
    *,
    display_name: str,
    roles: Iterable[Role],
    organisation: Organisation | None,
    actor: User,
) -> None:
    roles = set(roles)
    _check_roles_and_organisation(roles, organisation)
    if user.id == actor.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        raise AccountError(_l("You cannot remove your own administrator role."), "roles")
    changes: dict = {}
    if display_name.strip() != user.display_name:
        changes["display_name"] = [user.display_name, display_name.strip()]
        user.display_name = display_name.strip()
    if organisation is not user.organisation:
        changes["organisation_id"] = [
            user.organisation_id,
            organisation.id if organisation else None,
        ]
        user.organisation = organisation
    if changes:
        record(
            session,
            "user.updated",
            actor=actor,
            obj=user,
            **audit_changes(changes, values_of={"organisation_id"}),
        )
    if roles != user.roles:
        before = sorted(user.roles)
        user.set_roles(roles)
        record(
            session, "user.roles_changed", actor=actor, obj=user, before=before, after=sorted(roles)
        )
    session.flush()


def set_active(session: Session, user: User, active: bool, *, actor: User) -> None:
    if user.active == active:
        return
    if not active and user.id == actor.id:
        raise AccountError(_l("You cannot deactivate your own account."))
    user.active = active
    if not active:
        end_sessions(session, user, SessionEnd.DEACTIVATED)
        user.primary_referent = False  # a referent who left is nobody's main contact
    record(session, "user.activated" if active else "user.deactivated", actor=actor, obj=user)
    session.flush()
