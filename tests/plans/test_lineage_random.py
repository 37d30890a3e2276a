"""Any sequence of edits on a successor keeps its lineage whole and its stored kinds right."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import select

from app.plans import operations
from app.plans.diff import compare
from app.plans.models import LineageKind, ParagraphLineage, PlanError
from app.plans.tree import load_tree
from tests.fixtures.plans import generated_text, merge_as_seen


def expected_kind(row, successors_of: Counter, predecessors_of: Counter) -> LineageKind:
    """The kind a row's links call for, derived here independently of the operations."""
    if row.predecessor_id is None:
        return LineageKind.ADDED
    if row.successor_id is None:
        return LineageKind.REMOVED
    if predecessors_of[row.successor_id] > 1:
        return LineageKind.MERGED
    if successors_of[row.predecessor_id] > 1:
        return LineageKind.SPLIT
    same = row.predecessor.html == row.successor.html
    return LineageKind.CARRIED if same else LineageKind.EDITED


def lineage_problems(db, old, new) -> list[str]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(ParagraphLineage).where(ParagraphLineage.version_id == new.id)
    ).all()
    new_ids = {p.id for _n, p in load_tree(db.session, new).paragraphs()}
    old_ids = {p.id for _n, p in load_tree(db.session, old).paragraphs()}
    links = [r for r in rows if r.predecessor_id and r.successor_id]
    successors_of = Counter(r.predecessor_id for r in links)
    predecessors_of = Counter(r.successor_id for r in links)
    incoming = Counter(r.successor_id for r in rows if r.successor_id)
    outgoing = Counter(r.predecessor_id for r in rows if r.predecessor_id)
    problems = [f"paragraph {i} has no lineage row" for i in new_ids if not incoming[i]]
    problems += [f"old paragraph {i} has no lineage row" for i in old_ids if not outgoing[i]]
    problems += [
        f"row {r.id} points at {r.successor_id}, not in the version"
        for r in rows
        if r.successor_id and r.successor_id not in new_ids
    ]
    problems += [
        f"row {r.id} says removed but {r.predecessor_id} continues"
        for r in rows
        if r.successor_id is None and successors_of[r.predecessor_id]
    ]
    problems += [
        f"row {r.id} is {r.kind.value}, should be {expected.value}"
        for r in rows
        if r.kind != (expected := expected_kind(r, successors_of, predecessors_of))
    ]
    return problems


def positions_problems(db, version) -> list[str]:
    problems = []
    for node in load_tree(db.session, version).walk():
        positions = [p.position for p in node.paragraphs]
        if positions != list(range(len(positions))):
            problems.append(f"section {node.section.key} has positions {positions}")
    return problems


def random_step(db, rnd: random.Random, version, step: int) -> str:
    tree = load_tree(db.session, version)
    paragraphs = [p for _n, p in tree.paragraphs()]
    sections = [node.section for node in tree.walk()]
    # splits and merges are what make kinds change: they come up more often
    operation = rnd.choice(
        ["edit", "split", "split", "merge", "merge", "delete", "add", "move", "up", "down"]
    )
    if operation == "add" or not paragraphs:
        section = rnd.choice(sections)
        siblings = tree.nodes[section.id].paragraphs
        after = rnd.choice([None, *siblings])
        operations.add_paragraph(db.session, section, html=f"Nuovo {step}.", after=after)
        return "add"
    paragraph = rnd.choice(paragraphs)
    lock = paragraph.lock_version
    if operation == "edit":
        operations.update_paragraph(
            db.session, paragraph, html=f"{paragraph.text} Modifica {step}.", seen_lock=lock
        )
    elif operation == "split":
        operations.split_paragraph(
            db.session, paragraph, parts=[paragraph.html, f"Parte {step}."], seen_lock=lock
        )
    elif operation == "merge":
        merge_as_seen(db.session, paragraph)
    elif operation == "delete":
        operations.delete_paragraph(db.session, paragraph)
    elif operation == "move":
        operations.move_paragraph(db.session, paragraph, to_section=rnd.choice(sections))
    else:
        offset = -1 if operation == "up" else 1
        operations.move_paragraph(db.session, paragraph, offset=offset)
    return operation


@pytest.mark.parametrize("seed", range(40))
def test_random_edits_keep_lineage_and_kinds_right(db, make_version, make_successor, seed):
    rnd = random.Random(seed)
    first = make_version(text=generated_text(6, 3))
    second = make_successor(first)
    done = []
    for step in range(60):
        try:
            done.append(random_step(db, rnd, second, step))
            db.session.commit()
        except PlanError:  # e.g. merging the last paragraph of a section
            db.session.rollback()
            done.append("refused")
        problems = lineage_problems(db, first, second) + positions_problems(db, second)
        assert not problems, (done, problems)
    compare(db.session, first, second)  # the diff can be built from whatever is left


def test_kinds_stay_right_after_an_edit_far_from_a_merge(db, make_version, make_successor):
    """Paragraphs A, B, C: A split into M and a part merged with half of B; the other half of B
    merged with C. Editing M once stored B's second row as ``split``: it is ``merged``."""
    first = make_version(text=[(1, "1", "Unica", ["Testo A.", "Testo B.", "Testo C."])])
    second = make_successor(first)
    a, b, _c = (p for _n, p in load_tree(db.session, second).paragraphs())
    m, a2 = operations.split_paragraph(db.session, a, parts=["M.", "A2."], seen_lock=1)
    _b1, b2 = operations.split_paragraph(db.session, b, parts=["B1.", "B2."], seen_lock=1)
    merge_as_seen(db.session, a2)  # with B1
    merge_as_seen(db.session, b2)  # with C
    db.session.commit()
    operations.update_paragraph(db.session, m, html="M, modificato.", seen_lock=m.lock_version)
    db.session.commit()
    assert lineage_problems(db, first, second) == []
    assert sorted(_kinds(db, second)) == ["merged", "merged", "merged", "merged", "split"]


def _kinds(db, version) -> list[str]:
    return [
        kind.value
        for kind in db.session.scalars(
            select(ParagraphLineage.kind).where(ParagraphLineage.version_id == version.id)
        )
    ]
