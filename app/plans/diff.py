"""The word-level difference between two versions of a plan, following lineage, not position.

Between an older version A and a newer version B (A an ancestor of B), the lineage rows of
every version in between form a graph; each connected part of it is one *change*: the
paragraphs of A in it became the paragraphs of B in it. One of A and none of B is a removal,
none and one an addition, one and one a carried or edited paragraph, one and several a split,
several and one a merge. A change is identified by the smallest id of the lineage rows that
made it, stable for ever once both versions are fixed: ``#change-<id>`` on the diff page, and
what decisions link to.

Queries: two per version for the trees, one per version step for the lineage; never one per
section or paragraph.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.plans.models import LineageKind, Paragraph, ParagraphLineage, PlanVersion, Section
from app.plans.text import PARAGRAPH_BREAK, DiffBudget, _key, tokens, word_diff
from app.plans.tree import Node, VersionTree, load_tree


class ChangeKind:
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    MOVED = "moved"
    SPLIT = "split"
    MERGED = "merged"


@dataclass
class Change:
    change_id: int
    kind: str
    old: list[Paragraph]
    new: list[Paragraph]
    html: str
    text_changed: bool
    moved: bool = False
    #: The words are the same but their formatting changed (bold, italics, a list, a link…).
    format_changed: bool = False
    #: Every lineage row behind this change.
    lineage_ids: list[int] = field(default_factory=list)
    #: The stored :class:`~app.plans.changes.TextChange` (adjacent versions only): its id is
    #: the change's number, what decisions link to.
    stored: object | None = None

    @property
    def anchor(self) -> str:
        """``change-<stored id>``; between versions that are not adjacent there is no stored
        change, and ``part-<n>`` is only a place on this page."""
        if self.stored is not None:
            return f"change-{self.stored.id}"
        return f"part-{self.change_id}"


@dataclass
class SectionDiff:
    node: Node | None
    old_section: Section | None
    changes: list[Change]
    status: str  # "same", "added", "removed", "moved", "renamed"
    old_title: str | None = None
    #: The stored section change, as for :attr:`Change.stored`.
    stored: object | None = None


@dataclass
class VersionDiff:
    old: PlanVersion
    new: PlanVersion
    sections: list[SectionDiff]
    summary: dict[str, int]

    @property
    def adjacent(self) -> bool:
        """The newer version continues the older one directly: its changes are stored."""
        return self.new.predecessor_id == self.old.id


class NotRelated(ValueError):
    pass


def chain(session: Session, old: PlanVersion, new: PlanVersion) -> list[PlanVersion]:
    """The versions from ``old`` (excluded) to ``new`` (included), following predecessors."""
    versions = {
        v.id: v
        for v in session.scalars(select(PlanVersion).where(PlanVersion.plan_id == new.plan_id))
    }
    steps = []
    current = new
    while current is not None and current.id != old.id:
        steps.append(current)
        current = versions.get(current.predecessor_id)
    if current is None:
        raise NotRelated
    return list(reversed(steps))


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)


def _stable_order(values: list[int]) -> set[int]:
    """Indexes of a longest increasing subsequence: the items that did not move."""
    tails: list[int] = []
    tail_index: list[int] = []
    previous = [-1] * len(values)
    for i, value in enumerate(values):
        j = bisect.bisect_left(tails, value)
        if j == len(tails):
            tails.append(value)
            tail_index.append(i)
        else:
            tails[j] = value
            tail_index[j] = i
        previous[i] = tail_index[j - 1] if j else -1
    keep = set()
    i = tail_index[-1] if tail_index else -1
    while i != -1:
        keep.add(i)
        i = previous[i]
    return keep


def compare(
    session: Session, old: PlanVersion, new: PlanVersion, *, render: bool = True
) -> VersionDiff:
    """The changes from ``old`` to ``new``; with ``render=False`` without their HTML (what
    :func:`app.plans.changes.sync_changes` stores needs only which paragraphs and kinds)."""
    steps = chain(session, old, new)
    old_tree, new_tree = load_tree(session, old), load_tree(session, new)
    step_ids = [v.id for v in steps]
    rows = session.scalars(
        select(ParagraphLineage)
        .where(ParagraphLineage.version_id.in_(step_ids))
        .order_by(ParagraphLineage.id)
    ).all()
    section_map = _section_map(session, steps, old_tree, new_tree)

    groups = _UnionFind()
    row_root: list[tuple[ParagraphLineage, object]] = []
    for row in rows:
        ends = [e for e in (row.predecessor_id, row.successor_id) if e is not None]
        for end in ends[1:]:
            groups.union(ends[0], end)
        row_root.append((row, ends[0]))
    old_order = {p.id: (i, p, node) for i, (node, p) in enumerate(old_tree.paragraphs())}
    new_order = {p.id: (i, p, node) for i, (node, p) in enumerate(new_tree.paragraphs())}
    for pid in (*old_order, *new_order):
        groups.find(pid)
    members: dict = defaultdict(lambda: {"old": [], "new": [], "rows": []})
    for pid in old_order:
        members[groups.find(pid)]["old"].append(pid)
    for pid in new_order:
        members[groups.find(pid)]["new"].append(pid)
    for row, end in row_root:
        members[groups.find(end)]["rows"].append(row)

    changes: list[Change] = []
    budget = DiffBudget() if render else None
    for group in members.values():
        change = _change(group, old_order, new_order, budget)
        if change is not None:
            changes.append(change)
    _mark_moves(changes, old_order, new_order, section_map)
    changes = [
        c
        for c in changes
        if c.text_changed or c.format_changed or c.moved or c.kind != ChangeKind.CHANGED
    ]
    return _assemble(old, new, old_tree, new_tree, changes, section_map, old_order, new_order)


def _section_map(session, steps, old_tree: VersionTree, new_tree: VersionTree) -> dict[int, int]:
    """New section id -> old section id, following section predecessors through the steps."""
    links: dict[int, int | None] = {}
    if len(steps) > 1:
        for section_id, predecessor_id in session.execute(
            select(Section.id, Section.predecessor_id).where(
                Section.version_id.in_([v.id for v in steps[:-1]])
            )
        ):
            links[section_id] = predecessor_id
    old_ids = {node.section.id for node in old_tree.walk()}
    result = {}
    for node in new_tree.walk():
        current = node.section.predecessor_id
        for _ in steps[:-1]:
            if current is None or current in old_ids:
                break
            current = links.get(current)
        if current in old_ids:
            result[node.section.id] = current
    return result


def _change(group, old_order, new_order, budget: DiffBudget | None) -> Change | None:
    old = [old_order[i][1] for i in sorted(group["old"], key=lambda i: old_order[i][0])]
    new = [new_order[i][1] for i in sorted(group["new"], key=lambda i: new_order[i][0])]
    if not old and not new:
        return None  # added and removed again between the two versions
    rows = group["rows"]
    significant = [r.id for r in rows if r.kind is not LineageKind.CARRIED]
    change_id = min(significant or [r.id for r in rows] or [0])
    if not old:
        kind = ChangeKind.ADDED
    elif not new:
        kind = ChangeKind.REMOVED
    elif len(old) == 1 and len(new) > 1:
        kind = ChangeKind.SPLIT
    elif len(old) > 1:
        kind = ChangeKind.MERGED
    else:
        kind = ChangeKind.CHANGED
    before = PARAGRAPH_BREAK.join(p.text for p in old)
    after = PARAGRAPH_BREAK.join(p.text for p in new)
    format_changed = False
    if before == after:  # most paragraphs: no need to run the matcher
        html, text_changed = escape(after, quote=False), False
        format_changed = [p.html for p in old] != [p.html for p in new]
    elif budget is None:  # not rendered: whether the words differ, as word_diff would tell
        html = ""
        text_changed = [_key(t) for t in tokens(before)] != [_key(t) for t in tokens(after)]
    else:
        html, text_changed = word_diff(before, after, budget)
    return Change(
        change_id,
        kind,
        old,
        new,
        html,
        text_changed or kind != ChangeKind.CHANGED,
        format_changed=format_changed and kind == ChangeKind.CHANGED,
        lineage_ids=sorted(r.id for r in rows),
    )


def _mark_moves(changes: list[Change], old_order, new_order, section_map) -> None:
    """A paragraph moved if its section does not continue its old one, or if it left the
    order of its neighbours (outside the longest run kept in order)."""
    by_section: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        if not change.old or not change.new:
            continue
        new_section = change.new[0].section_id
        old_section = change.old[0].section_id
        if section_map.get(new_section) != old_section:
            change.moved = True
        else:
            by_section[new_section].append(change)
    for items in by_section.values():
        items.sort(key=lambda c: new_order[c.new[0].id][0])
        keep = _stable_order([old_order[c.old[0].id][0] for c in items])
        for index, change in enumerate(items):
            if index not in keep:
                change.moved = True


def _assemble(old, new, old_tree, new_tree, changes, section_map, old_order, new_order):
    placed: dict[int, list[tuple[float, Change]]] = defaultdict(list)
    reverse = {old_id: new_id for new_id, old_id in section_map.items()}
    removed_sections: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        if change.new:
            first = change.new[0]
            placed[first.section_id].append((new_order[first.id][0], change))
            continue
        gone = change.old[0]
        target = reverse.get(gone.section_id)
        if target is None:
            removed_sections[gone.section_id].append(change)
        else:
            position = _removal_position(gone, old_tree, new_tree.nodes[target], new_order)
            placed[target].append((position, change))

    sections: list[SectionDiff] = []
    for node in new_tree.walk():
        items = [c for _pos, c in sorted(placed.get(node.section.id, []), key=lambda x: x[0])]
        previous_id = section_map.get(node.section.id)
        previous = old_tree.nodes[previous_id].section if previous_id else None
        status = _section_status(node, previous, section_map)
        if items or status != "same":
            sections.append(
                SectionDiff(
                    node,
                    previous,
                    items,
                    status,
                    old_title=_heading(previous) if status in ("renamed", "moved") else None,
                )
            )
    for old_node in old_tree.walk():
        if old_node.section.id not in reverse:
            sections.append(
                SectionDiff(
                    None, old_node.section, removed_sections.get(old_node.section.id, []), "removed"
                )
            )
    return VersionDiff(old, new, sections, _summary(sections, changes))


def _removal_position(gone: Paragraph, old_tree: VersionTree, node: Node, new_order) -> float:
    """Just after the place where the removed paragraph's old neighbour now sits."""
    if not node.paragraphs:
        return 0.0
    keys = {p.key: new_order[p.id][0] for p in node.paragraphs}
    position = new_order[node.paragraphs[0].id][0] - 0.5
    for p in old_tree.nodes[gone.section_id].paragraphs:
        if p.id == gone.id:
            break
        if p.key in keys:
            position = keys[p.key] + 0.5
    return position


def _heading(section: Section | None) -> str:
    if section is None:
        return ""
    return f"{section.number} {section.title}".strip()


def _section_status(node: Node, previous: Section | None, section_map) -> str:
    if previous is None:
        return "added"
    new_parent = node.section.parent_id
    old_parent = previous.parent_id
    if (section_map.get(new_parent) if new_parent else None) != old_parent:
        return "moved"
    if (node.section.number, node.section.title) != (previous.number, previous.title):
        return "renamed"
    return "same"


def _summary(sections: list[SectionDiff], changes: list[Change]) -> dict[str, int]:
    summary = {
        "sections_added": sum(1 for s in sections if s.status == "added"),
        "sections_removed": sum(1 for s in sections if s.status == "removed"),
        "sections_moved": sum(1 for s in sections if s.status == "moved"),
        "sections_renamed": sum(1 for s in sections if s.status == "renamed"),
        "paragraphs_added": sum(len(c.new) for c in changes if c.kind == ChangeKind.ADDED),
        "paragraphs_removed": sum(len(c.old) for c in changes if c.kind == ChangeKind.REMOVED),
        "paragraphs_changed": sum(
            1 for c in changes if c.kind == ChangeKind.CHANGED and c.text_changed
        ),
        "paragraphs_reformatted": sum(1 for c in changes if c.format_changed),
        "paragraphs_moved": sum(1 for c in changes if c.moved),
        "paragraphs_split": sum(1 for c in changes if c.kind == ChangeKind.SPLIT),
        "paragraphs_merged": sum(1 for c in changes if c.kind == ChangeKind.MERGED),
    }
    return summary
