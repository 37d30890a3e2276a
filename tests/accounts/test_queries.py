"""The accounts' read side, on its own."""

from __future__ import annotations

from app.accounts import queries
from app.accounts.models import Role
from app.accounts.operations import update_user
from app.extensions import db as _db


def _emails(filters: queries.UserFilters | None = None) -> list[str]:
    query = queries.users(filters or queries.UserFilters())
    return [user.email for user in _db.session.scalars(query)]


def test_users_search_by_address_or_name_in_any_case(db, make_user):
    anna = make_user(Role.ADMIN, email="anna@example.org", name="Anna Bianchi")
    bruno = make_user(Role.EDITOR, email="bruno@comune.example", name="Bruno Rossi")
    assert _emails() == [anna.email, bruno.email]  # by name
    assert _emails(queries.UserFilters("ROSSI")) == [bruno.email]
    assert _emails(queries.UserFilters(" comune.example ")) == [bruno.email]
    assert _emails(queries.UserFilters("%")) == []  # a wildcard is a character here


def test_history_is_the_latest_entries_about_the_account(db, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.EDITOR)
    for number in range(3):
        update_user(
            db.session,
            user,
            display_name=f"Nome {number}",
            roles={Role.EDITOR},
            organisation=None,
            actor=admin,
        )
    db.session.commit()
    entries = queries.history(user, limit=2)
    assert len(entries) == 2
    assert entries[0].id > entries[1].id
    assert {entry.object_id for entry in entries} == {str(user.id)}


def test_by_email_finds_the_account(db, make_user):
    user = make_user(email="carla@example.org")
    assert queries.by_email("carla@example.org").id == user.id
    assert queries.by_email("nobody@example.org") is None
