"""Stored text changes: their ids stay on the same text through every editing operation, a
change an edit makes disappear is ended (never deleted, never reused), and a guard of a higher
domain can refuse an edit that would end a change it links to."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.plans import operations
from app.plans.changes import (
    ChangeScope,
    ChangeSide,
    LinkedChangeError,
    TextChange,
    TextChangeKind,
    TextChangeParagraph,
    TextChangeSpan,
    register_link_guard,
    unregister_link_guard,
)
from app.plans.models import FrozenVersionError, Paragraph
from app.plans.tree import load_tree
from tests.fixtures.plans import merge_as_seen

TEXT = [
    (1, "1", "Agile", ["Semplificare le procedure.", "Ridurre la burocrazia."]),
    (1, "2", "Creativa", ["Collegare il sapere al saper fare.", "Sostenere le reti."]),
]


@pytest.fixture
def pair(db, make_version, make_successor):
    base = make_version(text=TEXT)
    return base, make_successor(base)


def paragraphs(db, version) -> list[Paragraph]:
    return [p for _n, p in load_tree(db.session, version).paragraphs()]


def stored(db, version, *, current: bool = True) -> list[TextChange]:
    db.session.expire_all()
    query = select(TextChange).where(TextChange.version_id == version.id)
    if current:
        query = query.where(TextChange.ended_at.is_(None))
    return list(db.session.scalars(query.order_by(TextChange.id)))


def sides(db, change: TextChange) -> tuple[set[int], set[int]]:
    rows = db.session.scalars(
        select(TextChangeParagraph).where(TextChangeParagraph.change_id == change.id)
    ).all()
    return (
        {r.paragraph_id for r in rows if r.side is ChangeSide.OLD},
        {r.paragraph_id for r in rows if r.side is ChangeSide.NEW},
    )


def edit(db, paragraph: Paragraph, text: str) -> None:
    operations.update_paragraph(db.session, paragraph, html=text, seen_lock=paragraph.lock_version)
    db.session.commit()


def test_a_new_successor_has_no_changes_and_an_edit_stores_one(db, pair):
    base, successor = pair
    assert stored(db, successor) == []
    first = paragraphs(db, successor)[1]
    edit(db, first, "Ridurre molto la burocrazia.")
    [change] = stored(db, successor)
    assert (change.scope, change.kind, change.ended_at) == (
        ChangeScope.PARAGRAPH,
        TextChangeKind.EDITED,
        None,
    )
    assert sides(db, change) == ({paragraphs(db, base)[1].id}, {first.id})


def test_editing_the_same_paragraph_again_keeps_the_id(db, pair):
    _base, successor = pair
    paragraph = paragraphs(db, successor)[1]
    edit(db, paragraph, "Ridurre molto la burocrazia.")
    [before] = stored(db, successor)
    edit(db, paragraph, "Ridurre moltissimo la burocrazia comunale.")
    [after] = stored(db, successor)
    assert after.id == before.id
    spans = db.session.scalars(
        select(TextChangeSpan)
        .where(TextChangeSpan.change_id == after.id)
        .order_by(TextChangeSpan.ordinal)
    ).all()
    assert [(s.old_text, s.new_text) for s in spans] == [("", "moltissimo"), ("", "comunale")]


def test_restoring_the_original_text_ends_the_change_and_a_new_edit_gets_a_new_id(db, pair):
    _base, successor = pair
    paragraph = paragraphs(db, successor)[1]
    edit(db, paragraph, "Ridurre molto la burocrazia.")
    [first] = stored(db, successor)
    edit(db, paragraph, "Ridurre la burocrazia.")
    assert stored(db, successor) == []
    [ended] = stored(db, successor, current=False)
    assert ended.id == first.id and ended.ended_at is not None
    edit(db, paragraph, "Ridurre tanto la burocrazia.")
    [again] = stored(db, successor)
    assert again.id != first.id
    assert stored(db, successor, current=False)[0].ended_at is not None  # stays ended


def test_deleting_an_edited_paragraph_ends_its_change_and_stores_a_removal(db, pair):
    base, successor = pair
    paragraph = paragraphs(db, successor)[1]
    edit(db, paragraph, "Ridurre molto la burocrazia.")
    [edited] = stored(db, successor)
    operations.delete_paragraph(db.session, paragraph)
    db.session.commit()
    [removal] = stored(db, successor)
    assert removal.id != edited.id and removal.kind is TextChangeKind.REMOVED
    assert sides(db, removal) == ({paragraphs(db, base)[1].id}, set())
    assert db.session.get(TextChange, edited.id).ended_at is not None


def test_splitting_an_edited_paragraph_keeps_the_id_and_the_kind_becomes_split(db, pair):
    _base, successor = pair
    paragraph = paragraphs(db, successor)[0]
    edit(db, paragraph, "Semplificare tutte le procedure.")
    [edited] = stored(db, successor)
    parts = operations.split_paragraph(
        db.session,
        paragraph,
        parts=["Semplificare tutte", "le procedure."],
        seen_lock=paragraph.lock_version,
    )
    db.session.commit()
    [split] = stored(db, successor)
    assert (split.id, split.kind) == (edited.id, TextChangeKind.SPLIT)
    assert sides(db, split)[1] == {p.id for p in parts}


def test_merging_two_edited_paragraphs_ends_both_and_stores_the_merge(db, pair):
    base, successor = pair
    one, two = paragraphs(db, successor)[:2]
    edit(db, one, "Semplificare tutte le procedure.")
    edit(db, two, "Ridurre molto la burocrazia.")
    old_ids = {c.id for c in stored(db, successor)}
    merge_as_seen(db.session, one)
    db.session.commit()
    [merge] = stored(db, successor)
    assert merge.kind is TextChangeKind.MERGED and merge.id not in old_ids
    assert sides(db, merge)[0] == {p.id for p in paragraphs(db, base)[:2]}
    assert all(db.session.get(TextChange, i).ended_at for i in old_ids)


def test_moves_and_additions_are_stored_and_an_added_paragraph_deleted_ends(db, pair):
    _base, successor = pair
    first, second = load_tree(db.session, successor).roots
    operations.move_paragraph(db.session, first.paragraphs[0], to_section=second.section)
    db.session.commit()
    [moved] = stored(db, successor)
    assert (moved.kind, moved.moved) == (TextChangeKind.MOVED, True)
    added = operations.add_paragraph(db.session, second.section, html="Nuovo.", after=None)
    db.session.commit()
    addition = next(c for c in stored(db, successor) if c.kind is TextChangeKind.ADDED)
    edit(db, added, "Nuovo e rivisto.")
    assert addition.id in {c.id for c in stored(db, successor)}  # the addition continues
    operations.delete_paragraph(db.session, added)
    db.session.commit()
    assert [c.id for c in stored(db, successor)] == [moved.id]
    assert db.session.get(TextChange, addition.id).ended_at is not None


def test_section_changes_are_stored_with_kinds(db, pair):
    base, successor = pair
    first, second = load_tree(db.session, successor).roots
    operations.update_section(
        db.session,
        first.section,
        number="1",
        title="Agile e performante",
        policy_area=None,
        seen_lock=first.section.lock_version,
    )
    new = operations.add_section(db.session, successor, parent=None, number="3", title="Nuova")
    db.session.commit()
    changes = {c.kind: c for c in stored(db, successor) if c.scope is ChangeScope.SECTION}
    assert set(changes) == {TextChangeKind.RENAMED, TextChangeKind.ADDED}
    renamed = changes[TextChangeKind.RENAMED]
    assert renamed.old_section_id == load_tree(db.session, base).roots[0].section.id
    assert changes[TextChangeKind.ADDED].new_section_id == new.id
    operations.move_section(db.session, second.section, offset=-1)
    db.session.commit()
    operations.delete_section(db.session, db.session.get(type(new), new.id))
    db.session.commit()
    now = {c.id: c for c in stored(db, successor) if c.scope is ChangeScope.SECTION}
    assert renamed.id in now  # renamed stays (moving a sibling does not move the section)
    assert changes[TextChangeKind.ADDED].id not in now


# The guard of a higher domain ----------------------------------------------------------------


def test_a_guard_refuses_an_edit_that_would_end_a_linked_change_and_nothing_is_written(db, pair):
    _base, successor = pair
    paragraph = paragraphs(db, successor)[1]
    edit(db, paragraph, "Ridurre molto la burocrazia.")
    [change] = stored(db, successor)
    seen: list = []

    def decisions(session, ended, replaced):
        seen.append((set(ended), set(replaced)))
        return ["Decisione su PSM-0001 punto 1"] if change.id in ended else []

    register_link_guard(decisions)
    try:
        db.session.refresh(paragraph)
        with pytest.raises(LinkedChangeError, match="PSM-0001"):
            operations.update_paragraph(
                db.session, paragraph, html="Ridurre la burocrazia.", seen_lock=2
            )
        db.session.rollback()
        assert seen[-1][0] == {change.id}
        db.session.expire_all()
        assert db.session.get(Paragraph, paragraph.id).text == "Ridurre molto la burocrazia."
        assert [c.id for c in stored(db, successor)] == [change.id]
        # an edit that keeps the change (its id) goes through, naming its replaced span
        edit(db, db.session.get(Paragraph, paragraph.id), "Ridurre tanto la burocrazia.")
        assert [c.id for c in stored(db, successor)] == [change.id]
        assert seen[-1][0] == set() and len(seen[-1][1]) == 1
    finally:
        unregister_link_guard(decisions)


# Frozen versions -----------------------------------------------------------------------------


def test_the_changes_of_a_frozen_version_are_fixed_except_marking_editorial(db, pair):
    _base, successor = pair
    edit(db, paragraphs(db, successor)[1], "Ridurre molto la burocrazia.")
    operations.freeze_version(db.session, successor)
    db.session.commit()
    [change] = stored(db, successor)
    change.kind = TextChangeKind.MOVED
    with pytest.raises(FrozenVersionError):
        db.session.flush()
    db.session.rollback()
    [change] = stored(db, successor)
    change.ended_at = change.created_at
    with pytest.raises(FrozenVersionError):
        db.session.flush()
    db.session.rollback()
    [change] = stored(db, successor)
    change.editorial, change.editorial_note = True, "Refuso."
    db.session.commit()
    assert stored(db, successor)[0].editorial


def test_the_backfill_stores_the_changes_of_versions_frozen_without_them(db, app, pair):
    from sqlalchemy import text

    from tests.conftest import triggers_off

    _base, successor = pair
    edit(db, paragraphs(db, successor)[1], "Ridurre molto la burocrazia.")
    operations.freeze_version(db.session, successor)
    db.session.commit()
    tables = ("text_change_spans", "text_change_paragraphs", "text_changes")
    # as if made before the stored changes existed (below the database's triggers that keep them)
    with triggers_off(db.engine, tables) as connection:
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
    result = app.test_cli_runner().invoke(args=["plans", "sync-changes"])
    assert "versions filled: 1" in result.output
    [change] = stored(db, successor)
    assert change.kind is TextChangeKind.EDITED
    again = app.test_cli_runner().invoke(args=["plans", "sync-changes"])
    assert "versions filled: 0" in again.output


def test_a_span_an_edit_leaves_identical_keeps_its_id(db, pair):
    _base, successor = pair
    paragraph = paragraphs(db, successor)[2]  # "Collegare il sapere al saper fare."
    edit(db, paragraph, "Collegare subito il sapere al saper fare bene.")
    [change] = stored(db, successor)

    def spans():
        return {
            s.new_text: s.id
            for s in db.session.scalars(
                select(TextChangeSpan).where(TextChangeSpan.change_id == change.id)
            )
        }

    before = spans()
    assert set(before) == {"subito", "bene"}
    edit(
        db,
        db.session.get(Paragraph, paragraph.id),
        "Collegare subito il sapere al saper fare meglio.",
    )
    after = spans()
    assert after["subito"] == before["subito"]  # same offsets, same words: same id
    assert "bene" not in after and after["meglio"] != before["bene"]
    assert [c.id for c in stored(db, successor)] == [change.id]
