"""The read side of accounts: the user search, and an account's recent history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from app.accounts.models import User
from app.core.audit import AuditEntry
from app.extensions import db


@dataclass(frozen=True)
class UserFilters:
    #: Part of the e-mail address or of the name, in any case; empty: everyone.
    text: str = ""


def users(filters: UserFilters = UserFilters()) -> Select:
    """Accounts matching ``filters``, by name."""
    query = select(User).order_by(User.display_name, User.id)
    term = filters.text.strip().lower()
    if term:
        query = query.where(
            or_(
                User.email.contains(term, autoescape=True),
                func.lower(User.display_name).contains(term, autoescape=True),
            )
        )
    return query


def history(user: User, limit: int = 20) -> list[AuditEntry]:
    """The latest audit entries about this account."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


def by_email(address: str) -> User | None:
    """The account with this (already normalised) e-mail address."""
    return db.session.scalar(select(User).where(User.email == address))
