"""Below the ORM: the database itself keeps stored text changes (raw SQL goes around every
guard of app/plans/changes.py, and decisions link to these ids)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.plans import operations
from tests.plans.test_changes import TEXT, edit, paragraphs, stored


@pytest.fixture
def changed(db, make_version, make_successor):
    """A successor draft with one edited paragraph: one stored change with its spans."""
    base = make_version(text=TEXT)
    successor = make_successor(base)
    edit(db, paragraphs(db, successor)[1], "Ridurre molto la burocrazia.")
    [change] = stored(db, successor)
    return successor, change.id


def _refused(db, sql: str, **values) -> None:
    with pytest.raises(DatabaseError):
        db.session.execute(text(sql), values)
        db.session.flush()
    db.session.rollback()


def test_a_change_is_never_deleted_moved_or_reopened(db, changed, make_version):
    successor, change_id = changed
    _refused(db, "DELETE FROM text_changes WHERE id = :c", c=change_id)
    _refused(db, "UPDATE text_changes SET scope = 'section' WHERE id = :c", c=change_id)
    other = make_version()
    _refused(db, "UPDATE text_changes SET version_id = :v WHERE id = :c", v=other.id, c=change_id)
    db.session.execute(
        text("UPDATE text_changes SET ended_at = created_at WHERE id = :c"), {"c": change_id}
    )
    db.session.commit()  # a draft's change may end
    _refused(db, "UPDATE text_changes SET ended_at = NULL WHERE id = :c", c=change_id)
    [change] = stored(db, successor, current=False)
    assert change.id == change_id and change.ended_at is not None


def test_a_drafts_change_rows_follow_its_edits(db, changed):
    _successor, change_id = changed
    db.session.execute(
        text("UPDATE text_change_spans SET ordinal = ordinal + 1 WHERE change_id = :c"),
        {"c": change_id},
    )
    db.session.execute(text("DELETE FROM text_change_spans WHERE change_id = :c"), {"c": change_id})
    db.session.commit()


def test_a_frozen_versions_changes_are_fixed_but_may_be_marked_editorial(db, changed):
    successor, change_id = changed
    operations.freeze_version(db.session, successor)
    db.session.commit()
    _refused(db, "UPDATE text_changes SET kind = 'moved' WHERE id = :c", c=change_id)
    _refused(db, "UPDATE text_changes SET ended_at = created_at WHERE id = :c", c=change_id)
    for table in ("text_change_spans", "text_change_paragraphs"):
        _refused(db, f"DELETE FROM {table} WHERE change_id = :c", c=change_id)  # noqa: S608
        update = f"UPDATE {table} SET version_id = version_id WHERE change_id = :c"  # noqa: S608
        _refused(db, update, c=change_id)
    db.session.execute(
        text("UPDATE text_changes SET editorial = :t, editorial_note = 'Refuso.' WHERE id = :c"),
        {"t": True, "c": change_id},
    )
    db.session.commit()
    [change] = stored(db, successor)
    assert change.editorial and change.editorial_note == "Refuso."
    assert change.kind.value == "edited"
