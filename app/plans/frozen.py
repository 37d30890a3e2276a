"""Frozen texts, loaded once: the section tree of a version that is no longer a draft, kept in
memory as plain read-only records and shared by every request that reads it.

A frozen or adopted version never changes (the ORM and the database's triggers refuse it), so
what was read once stays true for as long as the database lives. Building the tree as ORM
objects costs most of the time of the pages that show a long text (about 80 % of a round's
page for a 300-section, 3,000-paragraph plan: SQLAlchemy's per-object bookkeeping); the pages
that only *read* the text take it from here instead.

The records have the attribute names of :class:`Section` and :class:`Paragraph` that the read
side uses, and the tree is a :class:`VersionTree`, so templates and helpers take either. They
are not ORM objects: nothing loads lazily from them and nothing can be changed through them.
A draft's tree is loaded from the database each time (:func:`load_tree`).

The cache lives on the application (``app.extensions``), holds the most recently used
``FROZEN_TEXT_CACHE_VERSIONS`` versions (default 8) and is keyed by the version's id and the
moment it was frozen, so that a database emptied and filled again (as the tests do) cannot be
answered with another version's text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.plans.models import Paragraph, PlanVersion, PolicyArea, Section
from app.plans.tree import Node, VersionTree, load_tree

_EXTENSION = "traccia.frozen_texts"
T = TypeVar("T")
DEFAULT_CAPACITY = 8


@dataclass(frozen=True, slots=True)
class FrozenSection:
    id: int
    version_id: int
    parent_id: int | None
    key: str
    position: int
    number: str
    title: str
    policy_area: PolicyArea | None
    predecessor_id: int | None


@dataclass(frozen=True, slots=True)
class FrozenParagraph:
    id: int
    version_id: int
    section_id: int
    key: str
    position: int
    html: str
    text: str


class _Cache:
    """A small thread-safe LRU of version trees (gunicorn may run threads in a worker)."""

    def __init__(self) -> None:
        self._trees: OrderedDict[tuple[int, datetime | None], _Text] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            tree = self._trees.get(key)
            if tree is not None:
                self._trees.move_to_end(key)
            return tree

    def put(self, key, tree: _Text, capacity: int) -> None:
        with self._lock:
            self._trees[key] = tree
            self._trees.move_to_end(key)
            while len(self._trees) > max(capacity, 0):
                self._trees.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()

    def __len__(self) -> int:
        return len(self._trees)


def _cache() -> _Cache:
    return current_app.extensions.setdefault(_EXTENSION, _Cache())


def clear() -> None:
    """Forget every tree read so far (the tests empty the database between tests)."""
    _cache().clear()


def frozen_tree(session: Session, version: PlanVersion) -> VersionTree:
    """The version's tree with its text: from memory when the version is frozen or adopted and
    was read before, from the database (two queries) otherwise."""
    if version.is_draft:
        return load_tree(session, version)
    text = _entry(session, version)
    # the shared part is the text; the version object is this request's own
    return VersionTree(version, text.roots, text.nodes)


@dataclass(frozen=True, slots=True)
class _Text:
    roots: list[Node]
    nodes: dict[int, Node]
    #: What pages made of this text once (:func:`rendered_once`), by name.
    fragments: dict[Hashable, Any] = field(default_factory=dict)


def _entry(session: Session, version: PlanVersion) -> _Text:
    key = (version.id, version.frozen_at)
    cache = _cache()
    text = cache.get(key)
    if text is None:
        text = _read(session, version)
        capacity = current_app.config.get("FROZEN_TEXT_CACHE_VERSIONS", DEFAULT_CAPACITY)
        cache.put(key, text, capacity)
    return text


def rendered_once(
    session: Session, version: PlanVersion, name: Hashable, build: Callable[[], T]
) -> T:
    """What ``build()`` makes of a frozen version's text (rows of a page, already rendered),
    made the first time it is asked for and kept beside the text, for as long as the text
    stays in memory. ``name`` says what it is and everything it depends on besides the text
    (the round it links to, the language…). For a draft, ``build()`` runs every time."""
    if version.is_draft:
        return build()
    fragments = _entry(session, version).fragments
    try:
        return fragments[name]
    except KeyError:
        made = fragments[name] = build()  # two threads may both build it: same result
        return made


def _read(session: Session, version: PlanVersion) -> _Text:
    """The same two queries as :func:`load_tree`, into plain records (rows, not objects)."""
    sections = [
        FrozenSection(**row._mapping)
        for row in session.execute(
            select(
                Section.id,
                Section.version_id,
                Section.parent_id,
                Section.key,
                Section.position,
                Section.number,
                Section.title,
                Section.policy_area,
                Section.predecessor_id,
            ).where(Section.version_id == version.id)
        )
    ]
    paragraphs = session.execute(
        select(
            Paragraph.id,
            Paragraph.version_id,
            Paragraph.section_id,
            Paragraph.key,
            Paragraph.position,
            Paragraph.html,
            Paragraph.text,
        )
        .where(Paragraph.version_id == version.id)
        .order_by(Paragraph.section_id, Paragraph.position, Paragraph.id)
    )
    by_section: dict[int, list[FrozenParagraph]] = {}
    for row in paragraphs:
        by_section.setdefault(row.section_id, []).append(FrozenParagraph(**row._mapping))
    children: dict[int | None, list[FrozenSection]] = {}
    for section in sorted(sections, key=lambda s: (s.position, s.id)):
        children.setdefault(section.parent_id, []).append(section)
    nodes: dict[int, Node] = {}

    def build(section: FrozenSection, depth: int) -> Node:
        node = Node(section, depth, paragraphs=by_section.get(section.id, []))  # type: ignore[arg-type]
        nodes[section.id] = node
        node.children = [build(child, depth + 1) for child in children.get(section.id, [])]
        return node

    roots = [build(section, 1) for section in children.get(None, [])]
    return _Text(roots, nodes)
