"""Anchors followed through the lineage into a later version: split, merged, moved and deleted
paragraphs, renamed and removed sections, quoted passages at their new offsets."""

from __future__ import annotations

from app.plans import operations
from app.plans.anchors import FollowStatus, follow, follow_many, resolve
from app.plans.tree import load_tree
from tests.fixtures.plans import merge_as_seen

TEXT = [
    (1, "1", "Agile", ["Semplificare le procedure degli uffici.", "Ridurre la burocrazia."]),
    (1, "2", "Creativa", ["Collegare il sapere al saper fare.", "Sostenere le reti."]),
]


def setup(db, make_version, make_successor):
    base = make_version(text=TEXT)
    successor = make_successor(base)
    old = {p.text: p for _n, p in load_tree(db.session, base).paragraphs()}
    new = {p.key: p for _n, p in load_tree(db.session, successor).paragraphs()}
    return base, successor, old, new


def anchor_on(db, version, paragraph, quote=None):
    return resolve(db.session, version.id, paragraph_key=paragraph.key, quote=quote)


def test_a_quoted_passage_keeps_its_words_at_new_offsets(db, make_version, make_successor):
    base, successor, old, new = setup(db, make_version, make_successor)
    source = old["Semplificare le procedure degli uffici."]
    anchor = anchor_on(db, base, source, "le procedure")
    paragraph = new[source.key]
    operations.update_paragraph(
        db.session,
        paragraph,
        html="Rendere più semplici le procedure degli uffici comunali.",
        seen_lock=1,
    )
    db.session.commit()
    followed = follow(db.session, anchor, successor)
    assert followed.status is FollowStatus.EDITED
    assert [p.id for p in followed.paragraphs] == [paragraph.id]
    text = followed.quote_paragraph.text
    assert text[followed.quote_start : followed.quote_end] == "le procedure"
    assert followed.quote_start == len("Rendere più semplici ")
    # the quoted words edited away: the paragraph is still found, the passage is not
    gone = anchor_on(db, base, source, "degli uffici.")
    assert follow(db.session, gone, successor).quote_survives is False


def test_split_merged_moved_and_removed(db, make_version, make_successor):
    base, successor, old, new = setup(db, make_version, make_successor)
    first, second = "Semplificare le procedure degli uffici.", "Ridurre la burocrazia."
    third, fourth = "Collegare il sapere al saper fare.", "Sostenere le reti."
    parts = operations.split_paragraph(
        db.session,
        new[old[first].key],
        parts=["Semplificare le procedure.", "Degli uffici."],
        seen_lock=1,
    )
    merge_as_seen(db.session, new[old[third].key])  # with the fourth
    operations.delete_paragraph(db.session, new[old[second].key])
    db.session.commit()
    anchors = [
        anchor_on(db, base, old[text], quote)
        for text, quote in (
            (first, "le procedure"),
            (second, None),
            (third, "saper fare"),
            (fourth, "le reti"),
        )
    ]
    split, removed, merged_a, merged_b = follow_many(db.session, anchors, successor)
    assert split.status is FollowStatus.SPLIT
    assert [p.id for p in split.paragraphs] == [p.id for p in parts]
    assert split.quote_paragraph.id == parts[0].id and split.quote_start == len("Semplificare ")
    assert removed.status is FollowStatus.REMOVED and removed.paragraphs == []
    assert merged_a.status is merged_b.status is FollowStatus.MERGED
    assert merged_a.paragraphs == merged_b.paragraphs
    merged_text = merged_b.quote_paragraph.text
    assert merged_text[merged_b.quote_start : merged_b.quote_end] == "le reti"

    # a paragraph moved to another section is found there, and said to have moved
    _first_section, second_section = load_tree(db.session, successor).roots
    moved = parts[1]
    operations.move_paragraph(db.session, moved, to_section=second_section.section)
    db.session.commit()
    [again] = follow_many(db.session, [anchors[0]], successor)
    assert again.status is FollowStatus.SPLIT
    assert any(p.section_id == second_section.section.id for p in again.paragraphs)


def test_through_two_versions_and_sections(db, make_version, make_successor):
    base, successor, old, _new = setup(db, make_version, make_successor)
    section = load_tree(db.session, successor).roots[0].section
    operations.update_section(
        db.session,
        section,
        number="1",
        title="Agile e performante",
        policy_area=None,
        seen_lock=section.lock_version,
    )
    db.session.commit()
    third = make_successor(successor)
    source = old["Ridurre la burocrazia."]
    paragraph = next(
        p for _n, p in load_tree(db.session, third).paragraphs() if p.key == source.key
    )
    operations.update_paragraph(
        db.session, paragraph, html="Ridurre tutta la burocrazia.", seen_lock=1
    )
    db.session.commit()
    section_anchor = resolve(db.session, base.id, section_key=section.key)
    passage = anchor_on(db, base, source, "burocrazia")
    whole = resolve(db.session, base.id)
    on_section, on_passage, on_plan = follow_many(
        db.session, [section_anchor, passage, whole], third
    )
    assert on_section.status is FollowStatus.RENAMED
    assert on_section.section.title == "Agile e performante"
    assert on_passage.status is FollowStatus.EDITED and not on_passage.moved
    assert on_passage.quote_start == len("Ridurre tutta la ")
    assert on_plan.status is FollowStatus.PLAN


def test_following_many_anchors_takes_a_bounded_number_of_queries(db, make_version, make_successor):
    from sqlalchemy import event

    base, successor, old, _new = setup(db, make_version, make_successor)
    anchors = [anchor_on(db, base, p) for p in old.values()] * 50
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        follow_many(db.session, anchors, successor)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 6
