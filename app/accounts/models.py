"""Users, their roles, password-reset tokens and the failed-login log used for throttling."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.roles import Role
from app.stakeholders.models import Organisation


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def hash_session_token(raw: str) -> str:
    """What the database keeps of a session token: its SHA-256 (the token is in the cookie)."""
    return hashlib.sha256(raw.encode()).hexdigest()


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Case-insensitive uniqueness: addresses are stored lower-cased, and the database
        # refuses any that are not.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        # At most one primary referent per organisation, and only a referent can be one.
        CheckConstraint(
            "NOT primary_referent OR organisation_id IS NOT NULL",
            name="primary_referent_has_organisation",
        ),
        Index(
            "uq_users_primary_referent",
            "organisation_id",
            unique=True,
            sqlite_where=text("primary_referent"),
            postgresql_where=text("primary_referent"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    #: Argon2id hash; None until the user sets a password through an e-mailed link.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: The organisation's main contact among its referents (stakeholder registry).
    primary_referent: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Preferred interface and e-mail language; None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The session token Flask-Login keeps in the cookie: set by ``start_session`` at login
        and by the user loader on each request, never the user's id."""
        token = self.__dict__.get("_session_token")
        if token is None:
            raise RuntimeError("no session started for this user (accounts.start_session)")
        return token

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(row.role for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        self.role_rows[:] = [row for row in self.role_rows if row.role in wanted]
        for role in sorted(wanted - self.roles):
            self.role_rows.append(UserRole(role=role))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class SessionEnd(enum.StrEnum):
    LOGOUT = "logout"
    PASSWORD = "password"  # noqa: S105 - why a session ended, not a secret
    DEACTIVATED = "deactivated"
    #: Nothing was asked in it for longer than ``SESSION_IDLE_SECONDS``.
    IDLE = "idle"
    #: Older than ``SESSION_ABSOLUTE_SECONDS``, however busy.
    EXPIRED = "expired"
    #: Its user logged out "everywhere".
    EVERYWHERE = "everywhere"


class UserSession(Base):
    """One login session: the cookie carries its token, the server keeps its SHA-256.

    A session is live while ``ended_at`` is empty, it was used within the idle time-out and
    it is younger than the absolute one; logging out ends it, "log out everywhere" and a new
    password end all the user's sessions, a deactivation ends them all. Ended rows are kept
    (when and why a session ended) until a retention job removes them.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When a request last used it, to the minute (written at most once a minute).
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[SessionEnd | None] = mapped_column(enum_type(SessionEnd, "end_reason"))

    user: Mapped[User] = relationship()


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class PasswordToken(Base):
    """A single-use link to set a password: a reset, or the first password of a new account."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token sent by e-mail; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Login attempts for one address (known account or not) within the current window.

    An attempt is counted, in one atomic upsert, before its password is checked, so that
    simultaneous attempts cannot all pass the check; a successful login removes the row. One
    attacked account never locks out another, and unknown addresses are throttled exactly like
    known ones (no account enumeration).
    """

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int]
