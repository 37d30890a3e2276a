"""Random edit sequences on a small successor draft: a stored change id never points at other
text, a current change is exactly one lineage group, ended changes stay ended, the spans are
the words that differ, and a linked change survives or the edit is refused."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.plans import operations
from app.plans.changes import (
    ChangeScope,
    ChangeSide,
    LinkedChangeError,
    TextChange,
    TextChangeParagraph,
    TextChangeSpan,
    computed_changes,
    narrow,
    register_link_guard,
    unregister_link_guard,
)
from app.plans.models import Paragraph, PlanError
from app.plans.tree import load_tree
from tests.fixtures.plans import merge_as_seen, specs_from

TEXT = [
    (1, "1", "Uno", ["Alfa beta gamma.", "Delta epsilon zeta."]),
    (2, "1.1", "Uno uno", ["Eta theta iota."]),
    (1, "2", "Due", ["Kappa lambda mu.", "Nu xi omicron."]),
]

OPERATIONS = ["edit", "restore", "split", "merge", "delete", "add", "move", "up", "rename"]
steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 20), st.integers(0, 20)),
    min_size=1,
    max_size=8,
)


def _step(db, version, base_texts: dict[str, str], operation: str, i: int, j: int) -> None:
    tree = load_tree(db.session, version)
    paragraphs = [p for _n, p in tree.paragraphs()]
    sections = [node.section for node in tree.walk()]
    if operation == "rename":
        section = sections[i % len(sections)]
        operations.update_section(
            db.session,
            section,
            number=section.number,
            title=f"{section.title} {j}" if j % 2 else section.title.split(" ")[0],
            policy_area=None,
            seen_lock=section.lock_version,
        )
        return
    if operation == "add" or not paragraphs:
        section = sections[i % len(sections)]
        siblings = tree.nodes[section.id].paragraphs
        after = siblings[j % len(siblings)] if siblings and j % 3 else None
        operations.add_paragraph(db.session, section, html=f"Nuovo {j}.", after=after)
        return
    paragraph = paragraphs[i % len(paragraphs)]
    lock = paragraph.lock_version
    if operation == "edit":
        words = paragraph.text.split()
        words.insert(j % (len(words) + 1), f"parola{j}")
        operations.update_paragraph(db.session, paragraph, html=" ".join(words), seen_lock=lock)
    elif operation == "restore":  # back to the base text, if it has one
        original = base_texts.get(paragraph.key)
        if original is not None:
            operations.update_paragraph(db.session, paragraph, html=original, seen_lock=lock)
    elif operation == "split":
        words = paragraph.text.split()
        if len(words) < 2:
            raise PlanError("too short to split")
        cut = 1 + j % (len(words) - 1)
        operations.split_paragraph(
            db.session,
            paragraph,
            parts=[" ".join(words[:cut]), " ".join(words[cut:])],
            seen_lock=lock,
        )
    elif operation == "merge":
        merge_as_seen(db.session, paragraph)
    elif operation == "delete":
        operations.delete_paragraph(db.session, paragraph)
    elif operation == "move":
        operations.move_paragraph(db.session, paragraph, to_section=sections[j % len(sections)])
    else:
        operations.move_paragraph(db.session, paragraph, offset=-1 if j % 2 else 1)


def _snapshot(db, version):
    db.session.expire_all()
    changes = db.session.scalars(select(TextChange).where(TextChange.version_id == version.id))
    rows = db.session.scalars(
        select(TextChangeParagraph).where(TextChangeParagraph.version_id == version.id)
    ).all()
    sides: dict[int, dict] = {}
    for row in rows:
        sides.setdefault(row.change_id, {ChangeSide.OLD: set(), ChangeSide.NEW: set()})
        sides[row.change_id][row.side].add(row.paragraph_id)
    return {c.id: c for c in changes}, sides


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=steps)
def test_random_edits_never_make_a_stored_change_point_at_other_text(
    db, make_plan, make_successor, edits
):
    plan = make_plan()
    base = operations.build_version(
        db.session, plan, label="Bozza", predecessor=None, specs=specs_from(TEXT)
    )
    db.session.commit()
    successor = make_successor(base)
    base_texts = {p.key: p.text for _n, p in load_tree(db.session, base).paragraphs()}
    first_old: dict[int, frozenset] = {}
    first_section: dict[int, tuple] = {}
    ended: set[int] = set()
    linked: set[int] = set()

    def guard(session, ending, replaced):
        return [f"decision {i}" for i in sorted(ending & linked)]

    register_link_guard(guard)
    try:
        for operation, i, j in edits:
            try:
                _step(db, successor, base_texts, operation, i, j)
                db.session.commit()
                refused = False
            except LinkedChangeError:
                db.session.rollback()
                refused = True
            except PlanError:
                db.session.rollback()
                continue
            changes, sides = _snapshot(db, successor)
            current = {i: c for i, c in changes.items() if c.ended_at is None}
            assert ended <= set(changes) and not (ended & set(current)), "ended came back"
            assert linked <= set(current), ("a linked change ended", operation, refused)
            for change_id, change in changes.items():
                old = frozenset(sides.get(change_id, {}).get(ChangeSide.OLD, ()))
                if change.scope is ChangeScope.PARAGRAPH:
                    assert first_old.setdefault(change_id, old) == old, "old side changed"
                else:
                    key = (change.old_section_id,)
                    assert first_section.setdefault(change_id, key) == key
            ended |= {i for i, c in changes.items() if c.ended_at is not None}
            # the current changes are exactly the groups the lineage makes now, one each
            groups = sorted(
                (c.scope.value, sorted(c.old_ids), sorted(c.new_ids), c.old_section_id)
                for c in computed_changes(db.session, successor)
            )
            stored = sorted(
                (
                    c.scope.value,
                    sorted(sides.get(i, {}).get(ChangeSide.OLD, ())),
                    sorted(sides.get(i, {}).get(ChangeSide.NEW, ())),
                    c.old_section_id,
                )
                for i, c in current.items()
            )
            assert stored == groups
            _spans_fit(db, successor)
            # link the newest current change: later edits must keep it or be refused
            if current and len(linked) < 2:
                linked.add(max(current))
    finally:
        unregister_link_guard(guard)


def _spans_fit(db, version) -> None:
    spans = db.session.scalars(
        select(TextChangeSpan)
        .join(TextChange, TextChange.id == TextChangeSpan.change_id)
        .where(TextChange.version_id == version.id, TextChange.ended_at.is_(None))
    ).all()
    texts = {}
    ids = {s.old_paragraph_id for s in spans} | {s.new_paragraph_id for s in spans}
    for p in db.session.scalars(select(Paragraph).where(Paragraph.id.in_(ids - {None}))):
        texts[p.id] = p.text
    for span in spans:
        assert texts[span.old_paragraph_id][span.old_start : span.old_end] == span.old_text
        assert texts[span.new_paragraph_id][span.new_start : span.new_end] == span.new_text


# Narrowing ---------------------------------------------------------------------------------

words = st.lists(st.sampled_from(["a", "b", "c", "d", "e,", "f."]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(old=words, new=words)
def test_narrowing_gives_exactly_the_deleted_and_inserted_words(old, new):
    """Replacing each span's old slice by its new slice turns the old text into the new one."""
    before, after = " ".join(old), " ".join(new)
    spans = narrow([before], [after])
    rebuilt = before
    for _oi, os, oe, _ni, ns, ne in reversed(spans):
        rebuilt = f"{rebuilt[:os]} {after[ns:ne]} {rebuilt[oe:]}"  # spans hold words only
    assert re.findall(r"\w+|[^\w\s]", rebuilt) == re.findall(r"\w+|[^\w\s]", after)
    for _oi, os, oe, _ni, ns, ne in spans:
        assert before[os:oe] == before[os:oe].strip()  # words, not the spaces around them
        assert after[ns:ne] == after[ns:ne].strip()


def test_narrowing_a_sentence_names_the_changed_words():
    before = "Ridurre la burocrazia dei comuni."
    after = "Ridurre molto la burocrazia delle città."
    spans = narrow([before], [after])
    assert [(before[os:oe], after[ns:ne]) for _a, os, oe, _b, ns, ne in spans] == [
        ("", "molto"),
        ("dei comuni", "delle città"),
    ]


def test_narrowing_a_huge_paragraph_is_bounded_and_still_exact():
    before = " ".join(["uno"] * 5000)
    after = " ".join(["due"] * 5000)
    [(_a, os, oe, _b, ns, ne)] = narrow([before], [after])
    assert (before[os:oe], after[ns:ne]) == (before, after)


def test_narrowing_a_split_puts_each_insertion_in_its_paragraph():
    spans = narrow(["Alfa beta gamma delta."], ["Alfa beta nuovo", "gamma delta."])
    assert len(spans) == 1
    oi, os, oe, ni, ns, ne = spans[0]
    assert (oi, os, oe, ni) == (0, 10, 10, 0)
    assert "Alfa beta nuovo"[ns:ne] == "nuovo"
    assert re.fullmatch(r"\w+", "nuovo")
