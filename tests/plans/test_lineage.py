"""Versions, immutability, lineage across successors, and the diff on hand-checked cases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.core.audit import AuditEntry
from app.plans import operations
from app.plans.diff import ChangeKind, compare
from app.plans.models import (
    FrozenVersionError,
    LineageKind,
    Paragraph,
    ParagraphLineage,
    PlanError,
    Section,
    VersionStatus,
)
from app.plans.tree import load_tree
from tests.fixtures.plans import merge_as_seen


def _paragraphs(db, version):
    return [p for _node, p in load_tree(db.session, version).paragraphs()]


def _kinds(db, version):
    rows = db.session.scalars(
        select(ParagraphLineage).where(ParagraphLineage.version_id == version.id)
    ).all()
    return sorted(row.kind.value for row in rows)


# States and immutability -------------------------------------------------------------------


def test_versions_move_draft_frozen_adopted_and_never_back(db, make_version):
    version = make_version()
    with pytest.raises(PlanError):
        version.adopt()
    version.freeze()
    assert version.status is VersionStatus.FROZEN and version.frozen_at is not None
    with pytest.raises(PlanError):
        version.freeze()
    version.adopt()
    assert version.status is VersionStatus.ADOPTED
    db.session.commit()
    version.status = VersionStatus.DRAFT
    with pytest.raises(FrozenVersionError):
        db.session.flush()


def test_the_database_refuses_an_inconsistent_state(db, make_version):
    version = make_version()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(version.__class__)
            .where(version.__class__.id == version.id)
            .values(status="frozen")
        )
        db.session.flush()


def test_a_frozen_version_refuses_every_change_to_its_text(db, make_version):
    version = make_version(status=VersionStatus.FROZEN)
    paragraph = _paragraphs(db, version)[0]
    paragraph.text = "changed"
    with pytest.raises(FrozenVersionError):
        db.session.flush()
    db.session.rollback()

    section = db.session.scalars(select(Section).where(Section.version_id == version.id)).first()
    db.session.add(
        Paragraph(
            version_id=version.id, section=section, key="zzzzzz", position=9, html="x", text="x"
        )
    )
    with pytest.raises(FrozenVersionError):
        db.session.flush()
    db.session.rollback()

    db.session.delete(_paragraphs(db, version)[0])
    with pytest.raises(FrozenVersionError):
        db.session.flush()
    db.session.rollback()

    with pytest.raises(FrozenVersionError):
        db.session.execute(update(Paragraph).values(text="bulk"))
    db.session.rollback()


def test_operations_refuse_a_frozen_version_with_an_explanation(db, make_version):
    version = make_version(status=VersionStatus.FROZEN)
    paragraph = _paragraphs(db, version)[0]
    with pytest.raises(PlanError, match="non può più essere modificato"):
        operations.update_paragraph(db.session, paragraph, html="nuovo", seen_lock=None)


def test_freezing_and_editing_in_one_flush_is_refused(db, make_version):
    version = make_version()
    paragraph = _paragraphs(db, version)[0]
    paragraph.html = paragraph.text = "late edit"
    version.freeze()
    # the edit is older than the freeze in the same flush: refused all the same
    with pytest.raises(FrozenVersionError):
        db.session.flush()


# Lineage -----------------------------------------------------------------------------------


def test_a_successor_carries_every_paragraph_with_its_key(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    old, new = _paragraphs(db, first), _paragraphs(db, second)
    assert [p.key for p in old] == [p.key for p in new]
    assert {p.id for p in old}.isdisjoint({p.id for p in new})
    assert _kinds(db, second) == ["carried"] * len(old)
    assert second.predecessor_id == first.id and second.number == 2
    sections = db.session.scalars(select(Section).where(Section.version_id == second.id)).all()
    assert all(s.predecessor_id is not None for s in sections)


def test_only_the_latest_fixed_version_can_be_continued(db, make_version, make_successor):
    first = make_version()
    with pytest.raises(PlanError, match="Congela"):
        operations.create_successor(db.session, first, label="x")
    make_successor(first)
    with pytest.raises(PlanError, match="ultima versione"):
        operations.create_successor(db.session, first, label="x")


def test_lineage_across_two_successors(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    p = _paragraphs(db, second)
    operations.update_paragraph(db.session, p[0], html="Semplificare le procedure.", seen_lock=1)
    operations.split_paragraph(
        db.session, p[1], parts=["Ridurre", "la burocrazia."], seen_lock=p[1].lock_version
    )
    db.session.commit()
    third = make_successor(second)
    q = _paragraphs(db, third)
    merge_as_seen(db.session, q[1])  # the two halves of the split, joined again
    operations.delete_paragraph(db.session, q[0])
    db.session.commit()

    assert sorted(_kinds(db, second)) == [
        "carried",
        "carried",
        "carried",
        "edited",
        "split",
        "split",
    ]
    assert sorted(_kinds(db, third)) == [
        "carried",
        "carried",
        "carried",
        "merged",
        "merged",
        "removed",
    ]

    # follow the first version's second paragraph to the third version
    diff = compare(db.session, first, third)
    by_kind = {c.kind: c for s in diff.sections for c in s.changes}
    assert by_kind[ChangeKind.REMOVED].old[0].key == _paragraphs(db, first)[0].key
    # split then merged back: the same paragraph, text unchanged, so no change at all
    assert ChangeKind.SPLIT not in by_kind and ChangeKind.MERGED not in by_kind
    assert diff.summary["paragraphs_removed"] == 1
    audit = db.session.scalars(select(AuditEntry.action)).all()
    assert "plan.paragraph_split" in audit and "plan.paragraphs_merged" in audit


# Diff, hand-checked ------------------------------------------------------------------------


def _diff_changes(db, old, new):
    diff = compare(db.session, old, new)
    return diff, [c for s in diff.sections for c in s.changes]


def test_diff_of_an_edit_marks_the_words(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    paragraph = _paragraphs(db, second)[0]
    operations.update_paragraph(
        db.session, paragraph, html="Semplificare davvero procedure e servizi.", seen_lock=1
    )
    db.session.commit()
    diff, changes = _diff_changes(db, first, second)
    assert len(changes) == 1
    change = changes[0]
    assert change.kind == ChangeKind.CHANGED
    assert re.search(r"<ins>\s*davvero\s*</ins>", change.html)
    assert re.search(r"<del>\s*accesso ai\s*</del>", change.html)
    assert diff.summary["paragraphs_changed"] == 1
    row = db.session.get(ParagraphLineage, change.change_id)
    assert row.kind is LineageKind.EDITED and row.successor_id == paragraph.id


def test_diff_of_an_insert_and_a_delete(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    p = _paragraphs(db, second)
    added = operations.add_paragraph(db.session, p[0].section, html="Nuovo testo.", after=p[0])
    operations.delete_paragraph(db.session, p[4])
    db.session.commit()
    _diff, changes = _diff_changes(db, first, second)
    kinds = sorted(c.kind for c in changes)
    assert kinds == [ChangeKind.ADDED, ChangeKind.REMOVED]
    added_change = next(c for c in changes if c.kind == ChangeKind.ADDED)
    assert added_change.new == [added] and "<ins>Nuovo testo.</ins>" in added_change.html
    removed = next(c for c in changes if c.kind == ChangeKind.REMOVED)
    assert "<del>" in removed.html and removed.old[0].text == "Sostenere le reti di impresa."
    assert [p.position for p in _paragraphs(db, second)[:3]] == [0, 1, 2]


def test_diff_of_a_move_follows_lineage_not_position(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    p = _paragraphs(db, second)
    operations.move_paragraph(db.session, p[1], offset=-1)  # swap the first two
    target = db.session.scalars(
        select(Section).where(Section.version_id == second.id, Section.number == "2")
    ).one()
    operations.move_paragraph(db.session, p[2], to_section=target)
    db.session.commit()
    diff, changes = _diff_changes(db, first, second)
    assert all(not c.text_changed for c in changes)
    moved = {c.new[0].key for c in changes if c.moved}
    assert p[2].key in moved
    assert len(moved) == 2  # one of the swapped pair, plus the one moved to another section
    assert diff.summary["paragraphs_changed"] == 0
    assert diff.summary["paragraphs_moved"] == 2


def test_diff_of_a_split_and_a_merge(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    p = _paragraphs(db, second)
    parts = operations.split_paragraph(
        db.session,
        p[0],
        parts=["Semplificare procedure", "e accesso ai servizi."],
        seen_lock=p[0].lock_version,
    )
    merge_as_seen(db.session, p[3])  # the two paragraphs of section 2
    db.session.commit()
    diff, changes = _diff_changes(db, first, second)
    split = next(c for c in changes if c.kind == ChangeKind.SPLIT)
    assert split.new == parts and len(split.old) == 1
    assert parts[0].key == p[0].key  # the first part keeps the permalink
    merged = next(c for c in changes if c.kind == ChangeKind.MERGED)
    assert len(merged.old) == 2 and merged.new[0].key == p[3].key
    assert merged.new[0].text == "Collegare il sapere al saper fare. Sostenere le reti di impresa."
    assert diff.summary["paragraphs_split"] == 1 and diff.summary["paragraphs_merged"] == 1
    assert len({c.change_id for c in changes}) == len(changes)


def test_sections_added_renamed_and_removed(db, make_version, make_successor):
    first = make_version()
    second = make_successor(first)
    tree = load_tree(db.session, second)
    sub = tree.roots[0].children[0]
    operations.update_section(
        db.session,
        sub.section,
        number="1.1",
        title="Digitale",
        policy_area=None,
        seen_lock=sub.section.lock_version,
    )
    operations.delete_paragraph(db.session, sub.paragraphs[0])
    operations.delete_section(db.session, sub.section)
    operations.add_section(db.session, second, parent=None, number="3", title="Attrattiva")
    db.session.commit()
    diff = compare(db.session, first, second)
    assert diff.summary["sections_added"] == 1
    assert diff.summary["sections_removed"] == 1
    removed = next(s for s in diff.sections if s.status == "removed")
    assert removed.old_section.title == "Digitalizzazione" and len(removed.changes) == 1


def test_an_unrelated_version_cannot_be_compared(db, make_version):
    from app.plans.diff import NotRelated

    first = make_version()
    other = make_version(plan=first.plan)
    with pytest.raises(NotRelated):
        compare(db.session, first, other)


def test_keys_are_unique_within_a_version(db, make_version):
    version = make_version()
    paragraphs = _paragraphs(db, version)
    paragraphs[1].key = paragraphs[0].key
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_stale_edits_are_refused(db, make_version):
    version = make_version()
    paragraph = _paragraphs(db, version)[0]
    operations.update_paragraph(db.session, paragraph, html="Prima modifica.", seen_lock=1)
    db.session.commit()
    with pytest.raises(operations.ConflictError):
        operations.update_paragraph(db.session, paragraph, html="Seconda.", seen_lock=1)
