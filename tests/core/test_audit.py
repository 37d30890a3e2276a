from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from app.core.audit import AppendOnlyError, AuditEntry, record


@pytest.fixture
def entry(db, make_user):
    user = make_user()
    entry = record(db.session, "test.something", actor=user, obj=user, note="first")
    db.session.commit()
    return entry


def test_an_entry_records_who_what_which_and_when(db, entry):
    stored = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "test.something")
    ).one()
    assert stored.actor is not None
    assert stored.object_type == "users"
    assert stored.object_id == str(stored.actor.id)
    assert stored.details == {"note": "first"}
    assert stored.occurred_at.tzinfo is not None


def test_entries_cannot_be_changed_through_the_orm(db, entry):
    entry.action = "test.rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "test.something"


def test_entries_cannot_be_deleted_through_the_orm(db, entry):
    db.session.delete(entry)
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id) is not None


@pytest.mark.parametrize(
    "statement",
    [
        lambda: update(AuditEntry).values(action="test.rewritten"),
        lambda: delete(AuditEntry),
    ],
    ids=["bulk update", "bulk delete"],
)
def test_bulk_statements_are_refused(db, entry, statement):
    with pytest.raises(AppendOnlyError):
        db.session.execute(statement())
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.id == entry.id)) == (
        "test.something"
    )
