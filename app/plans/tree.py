"""A version's section tree and paragraphs, loaded with a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from app.plans.models import Paragraph, PlanVersion, Section


@dataclass
class Node:
    section: Section
    depth: int
    children: list[Node] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def paragraph_count(self) -> int:
        return sum(len(node.paragraphs) for node in self.walk())


@dataclass
class VersionTree:
    version: PlanVersion
    roots: list[Node]
    nodes: dict[int, Node]

    def walk(self) -> Iterator[Node]:
        for root in self.roots:
            yield from root.walk()

    def paragraphs(self) -> Iterator[tuple[Node, Paragraph]]:
        for node in self.walk():
            for paragraph in node.paragraphs:
                yield node, paragraph

    @property
    def paragraph_count(self) -> int:
        return sum(len(node.paragraphs) for node in self.nodes.values())

    def node_by_key(self, key: str) -> Node | None:
        for node in self.nodes.values():
            if node.section.key == key:
                return node
        return None

    def paragraph_by_key(self, key: str) -> tuple[Node, Paragraph] | None:
        for node, paragraph in self.paragraphs():
            if paragraph.key == key:
                return node, paragraph
        return None


def load_tree(session: Session, version: PlanVersion, *, text: bool = True) -> VersionTree:
    """Two queries whatever the size: the sections, then the paragraphs.

    With ``text=False`` the paragraphs come without their HTML and text (a page showing one
    section loads those for its own paragraphs with :func:`load_text`)."""
    sections = session.scalars(
        select(Section)
        .where(Section.version_id == version.id)
        .order_by(Section.parent_id.is_not(None), Section.position, Section.id)
    ).all()
    query = select(Paragraph).where(Paragraph.version_id == version.id)
    if not text:
        query = query.options(
            load_only(
                Paragraph.version_id,
                Paragraph.section_id,
                Paragraph.key,
                Paragraph.position,
                Paragraph.lock_version,
            )
        )
    paragraphs = session.scalars(
        query.order_by(Paragraph.section_id, Paragraph.position, Paragraph.id)
    ).all()
    children: dict[int | None, list[Section]] = defaultdict(list)
    for section in sections:
        children[section.parent_id].append(section)
    by_section: dict[int, list[Paragraph]] = defaultdict(list)
    for paragraph in paragraphs:
        by_section[paragraph.section_id].append(paragraph)
    nodes: dict[int, Node] = {}

    def build(section: Section, depth: int) -> Node:
        node = Node(section, depth, paragraphs=by_section.get(section.id, []))
        nodes[section.id] = node
        node.children = [
            build(child, depth + 1)
            for child in sorted(children.get(section.id, []), key=lambda s: (s.position, s.id))
        ]
        return node

    roots = [build(section, 1) for section in sorted(children[None], key=lambda s: s.position)]
    return VersionTree(version, roots, nodes)


def load_text(session: Session, nodes: Iterable[Node]) -> None:
    """The HTML and text of the paragraphs of these sections, in one query (after
    ``load_tree(…, text=False)``)."""
    section_ids = [node.section.id for node in nodes]
    if section_ids:
        # the paragraphs are in the identity map: their unloaded columns are filled in
        session.scalars(select(Paragraph).where(Paragraph.section_id.in_(section_ids))).all()
