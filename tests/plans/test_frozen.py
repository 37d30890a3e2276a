"""A frozen version's text cannot change, whichever way the change is written: through the
models' relationships, Core statements on their tables, bulk mappings, or raw SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from app.plans.models import (
    FrozenVersionError,
    Paragraph,
    ParagraphLineage,
    Section,
    VersionStatus,
)
from app.plans.tree import load_tree


@pytest.fixture
def frozen(make_version):
    return make_version(status=VersionStatus.FROZEN)


@pytest.fixture
def draft_and_frozen(make_version, make_successor):
    """A frozen first version and its draft successor."""
    first = make_version()
    return make_successor(first), first


def _texts(db, version) -> list[str]:
    db.session.expire_all()
    return [p.text for _node, p in load_tree(db.session, version).paragraphs()]


def _titles(db, version) -> list[str]:
    db.session.expire_all()
    return [node.section.title for node in load_tree(db.session, version).walk()]


def _commit_refused(db) -> None:
    with pytest.raises(FrozenVersionError):
        db.session.commit()
    db.session.rollback()


# Through the models ------------------------------------------------------------------------


def test_a_section_added_through_the_version_relationship_is_refused(db, frozen):
    db.session.add(Section(version=frozen, key="zzzzzz", position=9, title="Aggiunta"))
    _commit_refused(db)
    assert "Aggiunta" not in _titles(db, frozen)


def test_a_draft_section_cannot_be_moved_into_a_frozen_version(db, draft_and_frozen):
    draft, frozen = draft_and_frozen
    section = Section(version_id=draft.id, key="qqqqqq", position=5, title="Spostata")
    db.session.add(section)
    db.session.commit()

    section.version = frozen
    _commit_refused(db)
    section.version_id = frozen.id
    _commit_refused(db)
    assert "Spostata" not in _titles(db, frozen)


def test_a_section_cannot_be_moved_out_of_a_frozen_version(db, draft_and_frozen):
    draft, frozen = draft_and_frozen
    section = db.session.scalars(select(Section).where(Section.version_id == frozen.id)).first()
    section.version = draft
    with pytest.raises(FrozenVersionError):
        db.session.commit()


def test_a_draft_paragraph_cannot_be_moved_into_a_frozen_section(db, draft_and_frozen):
    draft, frozen = draft_and_frozen
    paragraph = next(load_tree(db.session, draft).paragraphs())[1]
    frozen_section = load_tree(db.session, frozen).roots[0].section
    paragraph.section = frozen_section
    with pytest.raises(FrozenVersionError):
        db.session.commit()


def test_a_change_made_during_the_flush_is_refused_as_the_row_is_written(db, draft_and_frozen):
    """A later before_flush hook edits a frozen paragraph after the session-level check ran:
    the mapper-level check refuses it as the row is written."""
    draft, frozen = draft_and_frozen
    frozen_paragraph = next(load_tree(db.session, frozen).paragraphs())[1]
    draft_paragraph = next(load_tree(db.session, draft).paragraphs())[1]

    def late_edit(session, flush_context, instances):
        frozen_paragraph.text = "cambiato"

    session = db.session()
    event.listen(session, "before_flush", late_edit)
    try:
        draft_paragraph.text = "Una modifica lecita."
        with pytest.raises(FrozenVersionError):
            session.flush()
    finally:
        event.remove(session, "before_flush", late_edit)
    db.session.rollback()
    assert "cambiato" not in _texts(db, frozen)


# Statements on the tables ------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        lambda: update(Paragraph.__table__).values(text="in blocco", html="in blocco"),
        lambda: delete(Section.__table__),
        lambda: update(ParagraphLineage.__table__).values(kind="edited"),
        lambda: insert(Paragraph).values(
            version_id=1, section_id=1, key="k", position=0, html="x", text="x"
        ),
    ],
    ids=["update-paragraphs-table", "delete-sections-table", "update-lineage-table", "insert"],
)
def test_statements_on_the_text_tables_are_refused_by_the_session(db, frozen, statement):
    with pytest.raises(FrozenVersionError):
        db.session.execute(statement())
    db.session.rollback()
    assert "in blocco" not in _texts(db, frozen)


def test_bulk_mappings_are_refused_by_the_database(db, frozen):
    paragraph = next(load_tree(db.session, frozen).paragraphs())[1]
    with pytest.raises(IntegrityError, match="frozen or adopted version"):
        db.session.bulk_update_mappings(
            Paragraph,
            [{"id": paragraph.id, "lock_version": paragraph.lock_version, "text": "in blocco"}],
        )
        db.session.flush()
    db.session.rollback()
    assert "in blocco" not in _texts(db, frozen)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE plan_paragraphs SET text = 'in blocco' WHERE version_id = :frozen",
        "DELETE FROM plan_paragraphs WHERE version_id = :frozen",
        "DELETE FROM paragraph_lineage WHERE version_id = :frozen",
        "UPDATE plan_sections SET title = 'in blocco' WHERE version_id = :frozen",
        "INSERT INTO plan_sections (version_id, key, position, number, title, lock_version) "
        "VALUES (:frozen, 'zz', 9, '', 'in blocco', 1)",
        # a draft's paragraph moved into a frozen section, and a frozen one moved out
        "UPDATE plan_paragraphs SET section_id = (SELECT MIN(id) FROM plan_sections "
        "WHERE version_id = :frozen) WHERE version_id = :draft",
        "UPDATE plan_paragraphs SET version_id = :draft WHERE version_id = :frozen",
    ],
    ids=[
        "update",
        "delete",
        "delete-lineage",
        "update-section",
        "insert-section",
        "into-frozen-section",
        "out-of-frozen",
    ],
)
def test_raw_sql_is_refused_by_the_database(db, draft_and_frozen, sql):
    draft, frozen = draft_and_frozen
    before = _texts(db, frozen), _titles(db, frozen)
    with pytest.raises(IntegrityError, match="frozen or adopted version"):
        db.session.connection().execute(text(sql), {"frozen": frozen.id, "draft": draft.id})
    db.session.rollback()
    assert (_texts(db, frozen), _titles(db, frozen)) == before


def test_the_database_lets_a_draft_change(db, draft_and_frozen):
    draft, _frozen = draft_and_frozen
    connection = db.session.connection()
    connection.execute(
        text("UPDATE plan_paragraphs SET text = 'riscritto' WHERE version_id = :v"),
        {"v": draft.id},
    )
    connection.execute(text("DELETE FROM paragraph_lineage WHERE version_id = :v"), {"v": draft.id})
    db.session.commit()
    assert set(_texts(db, draft)) == {"riscritto"}


def test_an_adopted_version_is_fixed_too(db, make_version):
    adopted = make_version(status=VersionStatus.ADOPTED)
    with pytest.raises(IntegrityError):
        db.session.connection().execute(
            text("DELETE FROM paragraph_lineage WHERE version_id = :v"), {"v": adopted.id}
        )
