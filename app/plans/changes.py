"""Stored text changes: what changed between a version and its predecessor, with ids that never
silently point at different text.

Every version with a predecessor (a round's response version is one) has its changes stored:
a :class:`TextChange` per paragraph group of the lineage that changed (edited, added, removed,
split, merged, moved) and per section that changed (added, removed, renamed, moved), the base
and successor paragraphs it covers (:class:`TextChangeParagraph`), and the change narrowed to
the words inserted or deleted (:class:`TextChangeSpan`, character offsets on both sides).

:func:`sync_changes` keeps them current; every editing operation and the creation of a version
call it. Identity, the rule decisions rely on:

- A paragraph change *is* the base paragraphs it covers (the base version is frozen, so they
  never change): it continues, keeping its id, as long as the lineage group covers exactly the
  same base paragraphs and still has successor text (or, for a removal, still has none). Its
  kind may change (edited, then split), its successor paragraphs too.
- An addition (no base paragraph) continues the stored addition with which it shares the most
  successor paragraphs (the lowest id on a tie; the others end).
- A section change is its base section (renamed, moved, removed) or, for an addition, its new
  section, with the same rule on "still has a successor".
- Whatever no longer matches is *ended* (``ended_at`` set), never deleted and never reused: a
  paragraph restored to its original text, a paragraph deleted after being edited (its "edited"
  change ends, a new "removed" change starts), two edited paragraphs merged (both end, the merge
  is a new change). A higher domain that links to changes registers a guard
  (:func:`register_link_guard`) and the edit is refused while something links to a change it
  would end or to a span it would replace.

Spans keep their id when an edit leaves them identical (same paragraphs, offsets and words);
the others are replaced (deleted and created again). Ended changes keep their spans as they
were.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Text,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import (
    Mapped,
    Session,
    load_only,
    mapped_column,
    object_session,
    relationship,
    selectinload,
)

from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.i18n import lazy_gettext as _l
from app.plans import models as _plan_models
from app.plans.models import Paragraph, PlanError, PlanVersion, Section
from app.plans.text import MAX_DIFF_TOKENS, tokens


class ChangeScope(enum.StrEnum):
    PARAGRAPH = "paragraph"
    SECTION = "section"


class TextChangeKind(enum.StrEnum):
    EDITED = "edited"
    ADDED = "added"
    REMOVED = "removed"
    SPLIT = "split"
    MERGED = "merged"
    MOVED = "moved"
    RENAMED = "renamed"


class ChangeSide(enum.StrEnum):
    OLD = "old"
    NEW = "new"


class LinkedChangeError(PlanError):
    """An edit would end a change (or replace a span) that something links to."""


class TextChange(Base):
    """One change between ``version`` and its predecessor (``version.predecessor_id``)."""

    __tablename__ = "text_changes"
    __table_args__ = (
        CheckConstraint(
            "(scope = 'paragraph' AND kind IN "
            "('edited', 'added', 'removed', 'split', 'merged', 'moved'))"
            " OR (scope = 'section' AND kind IN ('added', 'removed', 'renamed', 'moved'))",
            name="kind_fits_scope",
        ),
        CheckConstraint(
            "scope = 'section' OR (old_section_id IS NULL AND new_section_id IS NULL)",
            name="sections_only_for_section_changes",
        ),
        CheckConstraint(
            "editorial OR (editorial_by_id IS NULL AND editorial_at IS NULL)",
            name="editorial_who_when_only_if_editorial",
        ),
        Index("ix_text_changes_version_current", "version_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The successor version the change belongs to (its base is that version's predecessor).
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    scope: Mapped[ChangeScope] = mapped_column(enum_type(ChangeScope, "scope"))
    kind: Mapped[TextChangeKind] = mapped_column(enum_type(TextChangeKind, "kind"))
    #: A paragraph change whose paragraphs also left their place (kind says what else happened).
    moved: Mapped[bool] = mapped_column(default=False)
    #: For section changes: the base section (None: added) and the successor one (None:
    #: removed; set to None too if the draft's section is deleted later, when the change ends).
    old_section_id: Mapped[int | None] = mapped_column(ForeignKey("plan_sections.id"), index=True)
    new_section_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_sections.id", ondelete="SET NULL"), index=True
    )
    #: Set when an edit made the change disappear; an ended change is never current again.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Marked by an editor as editorial (no point motivated it): coverage accepts it unlinked.
    editorial: Mapped[bool] = mapped_column(default=False)
    editorial_note: Mapped[str] = mapped_column(Text, default="")
    editorial_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    editorial_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[PlanVersion] = relationship()
    paragraphs: Mapped[list[TextChangeParagraph]] = relationship(
        order_by="(TextChangeParagraph.side, TextChangeParagraph.position)",
        viewonly=True,
    )
    spans: Mapped[list[TextChangeSpan]] = relationship(
        order_by="TextChangeSpan.ordinal", viewonly=True
    )

    @property
    def is_current(self) -> bool:
        return self.ended_at is None

    @property
    def anchor(self) -> str:
        return f"change-{self.id}"

    def __repr__(self) -> str:
        ended = " ended" if self.ended_at else ""
        return f"<TextChange {self.id} {self.scope} {self.kind}{ended}>"


class TextChangeParagraph(Base):
    """A paragraph of the base (``old``) or of the successor (``new``) that a change covers."""

    __tablename__ = "text_change_paragraphs"

    change_id: Mapped[int] = mapped_column(ForeignKey("text_changes.id"), primary_key=True)
    side: Mapped[ChangeSide] = mapped_column(enum_type(ChangeSide, "side"), primary_key=True)
    #: A successor paragraph deleted later takes its row with it (the change has ended by then).
    paragraph_id: Mapped[int] = mapped_column(
        ForeignKey("plan_paragraphs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: Denormalised from the change: the frozen-version guard reads it.
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    #: Order within its side (reading order).
    position: Mapped[int] = mapped_column(Integer, default=0)


class TextChangeSpan(Base):
    """A change narrowed to words: what was deleted (old side) and inserted (new side).

    An insertion has ``old_start == old_end`` (where it goes in the old paragraph); a deletion
    ``new_start == new_end``. The ``*_text`` columns are the slices, kept for the views that
    show them without the paragraphs."""

    __tablename__ = "text_change_spans"
    __table_args__ = (
        CheckConstraint("old_end >= old_start", name="old_offsets_ordered"),
        CheckConstraint("new_end >= new_start", name="new_offsets_ordered"),
        CheckConstraint("old_start >= 0 AND new_start >= 0", name="offsets_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("text_changes.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    old_paragraph_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_paragraphs.id", ondelete="SET NULL")
    )
    old_start: Mapped[int] = mapped_column(Integer)
    old_end: Mapped[int] = mapped_column(Integer)
    old_text: Mapped[str] = mapped_column(Text, default="")
    new_paragraph_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_paragraphs.id", ondelete="SET NULL")
    )
    new_start: Mapped[int] = mapped_column(Integer)
    new_end: Mapped[int] = mapped_column(Integer)
    new_text: Mapped[str] = mapped_column(Text, default="")

    change: Mapped[TextChange] = relationship(viewonly=True)

    def identity(self) -> tuple:
        """What an edit must leave unchanged for the span to keep its id."""
        return tuple(getattr(self, name) for name in SPAN_FIELDS)


#: A span's place and words: equal on two spans, they are the same span.
SPAN_FIELDS = (
    "old_paragraph_id",
    "old_start",
    "old_end",
    "old_text",
    "new_paragraph_id",
    "new_start",
    "new_end",
    "new_text",
)


# Narrowing to words --------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A computed span (see :class:`TextChangeSpan`)."""

    old_paragraph_id: int | None
    old_start: int
    old_end: int
    old_text: str
    new_paragraph_id: int | None
    new_start: int
    new_end: int
    new_text: str

    def identity(self) -> tuple:
        return tuple(getattr(self, name) for name in SPAN_FIELDS)


@dataclass(frozen=True)
class _Token:
    key: str
    paragraph: int  # index among the side's paragraphs
    start: int
    end: int  # without the trailing spaces


def _side_tokens(texts: list[str]) -> list[_Token]:
    """Every paragraph's words with their offsets; a paragraph boundary is a token of its own
    (so that words do not match across paragraphs by accident)."""
    out: list[_Token] = []
    for index, text in enumerate(texts):
        if index:
            out.append(_Token("\n\n", index, 0, 0))
        offset = 0
        for token in tokens(text):
            stripped = token if token.isspace() else token.rstrip()
            if not token.isspace():
                out.append(_Token(stripped, index, offset, offset + len(stripped)))
            offset += len(token)
    return out


def _pieces(side: list[_Token], i1: int, i2: int) -> list[tuple[int, int, int]]:
    """The tokens ``i1:i2`` cut at paragraph boundaries: (paragraph index, start, end)."""
    pieces: list[tuple[int, int, int]] = []
    for token in side[i1:i2]:
        if token.key == "\n\n":
            continue
        if pieces and pieces[-1][0] == token.paragraph:
            index, start, _end = pieces[-1]
            pieces[-1] = (index, start, token.end)
        else:
            pieces.append((token.paragraph, token.start, token.end))
    return pieces


def _point(side: list[_Token], i: int, texts: list[str]) -> tuple[int, int]:
    """Where an insertion goes on a side: before token ``i`` (after the last one at the end)."""
    while i < len(side) and side[i].key == "\n\n":
        i += 1
    if i < len(side):
        return side[i].paragraph, side[i].start
    if not texts:
        return 0, 0
    return len(texts) - 1, len(texts[-1])


def narrow(old_texts: list[str], new_texts: list[str]) -> list[tuple]:
    """The words deleted and inserted between two lists of paragraph texts, as
    ``(old index, old start, old end, new index, new start, new end)`` in the paragraphs'
    plain text, in reading order.

    A word alignment (difflib over word tokens, no junk heuristic) of what lies between the
    common start and end; when that middle is longer than :data:`MAX_DIFF_TOKENS` tokens on a
    side, it is one deletion and one insertion (coarser, still exact, bounded in time). It does
    not depend on any page's display budget, so it is the same wherever it is computed."""
    a, b = _side_tokens(old_texts), _side_tokens(new_texts)
    ka, kb = [t.key for t in a], [t.key for t in b]
    start = 0
    limit = min(len(ka), len(kb))
    while start < limit and ka[start] == kb[start]:
        start += 1
    end = 0
    while end < limit - start and ka[-1 - end] == kb[-1 - end]:
        end += 1
    middle_a, middle_b = ka[start : len(ka) - end], kb[start : len(kb) - end]
    if not middle_a and not middle_b:
        return []
    if len(middle_a) > MAX_DIFF_TOKENS or len(middle_b) > MAX_DIFF_TOKENS:
        opcodes = [("replace", 0, len(middle_a), 0, len(middle_b))]
    else:
        opcodes = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False).get_opcodes()
    spans: list[tuple] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            continue
        i1, i2, j1, j2 = i1 + start, i2 + start, j1 + start, j2 + start
        old_pieces, new_pieces = _pieces(a, i1, i2), _pieces(b, j1, j2)
        if not old_pieces and not new_pieces:
            continue  # only a paragraph boundary moved (a split or a merge at a sentence end)
        if not old_pieces:
            index, at = _point(a, i1, old_texts)
            old_pieces = [(index, at, at)]
        if not new_pieces:
            index, at = _point(b, j1, new_texts)
            new_pieces = [(index, at, at)]
        count = max(len(old_pieces), len(new_pieces))
        for n in range(count):
            o = old_pieces[min(n, len(old_pieces) - 1)]
            w = new_pieces[min(n, len(new_pieces) - 1)]
            if n >= len(old_pieces):
                o = (o[0], o[2], o[2])  # the rest of the insertion goes after the deletion
            if n >= len(new_pieces):
                w = (w[0], w[2], w[2])
            spans.append((*o, *w))
    return spans


def spans_for(old: list[Paragraph], new: list[Paragraph]) -> list[Span]:
    """:func:`narrow` on paragraphs, with their ids and the slices."""
    out = []
    for oi, os, oe, ni, ns, ne in narrow([p.text for p in old], [p.text for p in new]):
        op = old[oi] if old else None
        np_ = new[ni] if new else None
        out.append(
            Span(
                op.id if op else None,
                os,
                oe,
                op.text[os:oe] if op else "",
                np_.id if np_ else None,
                ns,
                ne,
                np_.text[ns:ne] if np_ else "",
            )
        )
    return out


# Hooks for the domains above -----------------------------------------------------------------

#: ``fn(session, ended_change_ids, replaced_span_ids) -> list[str]``: what links to them.
LinkGuard = Callable[[Session, set[int], set[int]], list[str]]
_LINK_GUARDS: list[LinkGuard] = []


def register_link_guard(fn: LinkGuard) -> LinkGuard:
    """A higher domain (decisions) names what links to changes an edit would end or spans it
    would replace; any name refuses the edit with :class:`LinkedChangeError`."""
    if fn not in _LINK_GUARDS:
        _LINK_GUARDS.append(fn)
    return fn


def unregister_link_guard(fn: LinkGuard) -> None:
    if fn in _LINK_GUARDS:
        _LINK_GUARDS.remove(fn)


@dataclass(frozen=True)
class Annotation:
    """One reason shown under a change ("Perché è cambiato?"): e.g. a point and its outcome."""

    label: str
    outcome: str = ""
    url: str = ""


#: ``fn(session, change_ids) -> {change_id: [Annotation, …]}``
ChangeAnnotator = Callable[[Session, list[int]], dict[int, list[Annotation]]]
_ANNOTATORS: list[ChangeAnnotator] = []


def register_change_annotator(fn: ChangeAnnotator) -> ChangeAnnotator:
    """A higher domain (decisions) tells, for many changes at once, what motivated them."""
    if fn not in _ANNOTATORS:
        _ANNOTATORS.append(fn)
    return fn


def unregister_change_annotator(fn: ChangeAnnotator) -> None:
    if fn in _ANNOTATORS:
        _ANNOTATORS.remove(fn)


def annotations(session: Session, change_ids: Iterable[int]) -> dict[int, list[Annotation]]:
    """Every registered annotator's reasons for these changes (each annotator: one call)."""
    ids = sorted(set(change_ids))
    result: dict[int, list[Annotation]] = {}
    if not ids:
        return result
    for annotator in _ANNOTATORS:
        for change_id, items in annotator(session, ids).items():
            result.setdefault(change_id, []).extend(items)
    return result


# Immutability: the changes of a fixed version are fixed too ------------------------------

_CHANGE_CLASSES = (TextChange, TextChangeParagraph, TextChangeSpan)
_CHANGE_TABLES = {"text_changes", "text_change_paragraphs", "text_change_spans"}
#: What may still change on a frozen version's change: marking it editorial (coverage is
#: reviewed after the response version is frozen).
EDITORIAL_COLUMNS = {"editorial", "editorial_note", "editorial_by_id", "editorial_at", "updated_at"}
#: ``session.info`` flag set by :func:`backfill_changes`: it may insert the first stored
#: changes of versions frozen before changes were stored.
BACKFILL = "plans.backfill_changes"

_plan_models._TEXT_TABLES.update(_CHANGE_TABLES)


def _only_editorial(obj) -> bool:
    if not isinstance(obj, TextChange):
        return False
    state = inspect(obj)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    return changed <= EDITORIAL_COLUMNS


def _check(session: Session, connection, obj, *, inserting: bool) -> None:
    if inserting and session.info.get(BACKFILL):
        return
    if not inserting and _only_editorial(obj):
        return
    _plan_models._refuse_if_fixed(session, connection, obj)


@event.listens_for(Session, "before_flush")
def _refuse_change_rows_of_fixed_versions(session: Session, flush_context, instances) -> None:
    connection = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, _CHANGE_CLASSES):
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        connection = connection or session.connection()
        _check(session, connection, obj, inserting=obj in session.new)


def _refuse_row(inserting: bool):
    def check(mapper, connection, target) -> None:
        session = object_session(target)
        if session is not None:
            _check(session, connection, target, inserting=inserting)

    return check


for _class in _CHANGE_CLASSES:
    event.listen(_class, "before_insert", _refuse_row(True))
    event.listen(_class, "before_update", _refuse_row(False))
    event.listen(_class, "before_delete", _refuse_row(False))


# Keeping them current ----------------------------------------------------------------------


@dataclass
class _Computed:
    scope: ChangeScope
    kind: TextChangeKind
    moved: bool = False
    old: list[Paragraph] | None = None
    new: list[Paragraph] | None = None
    old_section_id: int | None = None
    new_section_id: int | None = None

    @property
    def old_ids(self) -> frozenset[int]:
        return frozenset(p.id for p in self.old or [])

    @property
    def new_ids(self) -> frozenset[int]:
        return frozenset(p.id for p in self.new or [])


_SECTION_KINDS = {
    "added": TextChangeKind.ADDED,
    "removed": TextChangeKind.REMOVED,
    "renamed": TextChangeKind.RENAMED,
    "moved": TextChangeKind.MOVED,
}


def computed_changes(session: Session, version: PlanVersion) -> list[_Computed]:
    """The changes between ``version`` and its predecessor, from the lineage (not stored)."""
    from app.plans.diff import ChangeKind, compare

    result = compare(session, version.predecessor, version, render=False)
    out: list[_Computed] = []
    for sd in result.sections:
        if sd.status != "same":
            out.append(
                _Computed(
                    ChangeScope.SECTION,
                    _SECTION_KINDS[sd.status],
                    old_section_id=sd.old_section.id if sd.old_section is not None else None,
                    new_section_id=sd.node.section.id if sd.node is not None else None,
                )
            )
        for change in sd.changes:
            kind = {
                ChangeKind.ADDED: TextChangeKind.ADDED,
                ChangeKind.REMOVED: TextChangeKind.REMOVED,
                ChangeKind.SPLIT: TextChangeKind.SPLIT,
                ChangeKind.MERGED: TextChangeKind.MERGED,
            }.get(change.kind)
            if kind is None:
                changed = change.text_changed or change.format_changed
                kind = TextChangeKind.EDITED if changed else TextChangeKind.MOVED
            out.append(
                _Computed(
                    ChangeScope.PARAGRAPH,
                    kind,
                    moved=change.moved,
                    old=list(change.old),
                    new=list(change.new),
                )
            )
    return out


@dataclass
class _Stored:
    change: TextChange
    old: dict[int, TextChangeParagraph]
    new: dict[int, TextChangeParagraph]
    spans: list[TextChangeSpan]


def _load_current(session: Session, version: PlanVersion) -> list[_Stored]:
    changes = session.scalars(
        select(TextChange)
        .where(TextChange.version_id == version.id, TextChange.ended_at.is_(None))
        .order_by(TextChange.id)
    ).all()
    stored = {c.id: _Stored(c, {}, {}, []) for c in changes}
    if not stored:
        return []
    for row in session.scalars(
        select(TextChangeParagraph).where(TextChangeParagraph.change_id.in_(stored))
    ):
        item = stored[row.change_id]
        (item.old if row.side is ChangeSide.OLD else item.new)[row.paragraph_id] = row
    for span in session.scalars(
        select(TextChangeSpan)
        .where(TextChangeSpan.change_id.in_(stored))
        .order_by(TextChangeSpan.ordinal)
    ):
        stored[span.change_id].spans.append(span)
    return list(stored.values())


def _match(computed: list[_Computed], stored: list[_Stored]) -> dict[int, _Stored]:
    """Which stored change each computed one continues (by index in ``computed``)."""
    matched: dict[int, _Stored] = {}
    by_key: dict[tuple, _Stored] = {}
    additions: list[_Stored] = []
    for item in stored:
        change = item.change
        # (from the kind: a successor paragraph or section deleted since took its row with it)
        has_new = change.kind is not TextChangeKind.REMOVED
        if change.scope is ChangeScope.SECTION:
            if change.old_section_id is not None:
                by_key[("s", change.old_section_id, has_new)] = item
            elif change.new_section_id is not None:
                by_key[("s+", change.new_section_id)] = item
        elif item.old:
            by_key[("p", frozenset(item.old), has_new)] = item
        else:
            additions.append(item)
    taken: set[int] = set()
    pending: list[int] = []
    for index, c in enumerate(computed):
        if c.scope is ChangeScope.SECTION:
            key = (
                ("s", c.old_section_id, c.new_section_id is not None)
                if c.old_section_id is not None
                else ("s+", c.new_section_id)
            )
        elif c.old:
            key = ("p", c.old_ids, bool(c.new))
        else:
            pending.append(index)
            continue
        if key in by_key:
            matched[index] = by_key[key]
            taken.add(by_key[key].change.id)
    # additions: the most successor paragraphs shared, then the lowest id
    candidates = []
    for index in pending:
        for item in additions:
            shared = len(computed[index].new_ids & set(item.new))
            if shared:
                candidates.append((-shared, item.change.id, index, item))
    for _shared, change_id, index, item in sorted(candidates, key=lambda c: c[:3]):
        if index in matched or change_id in taken:
            continue
        matched[index] = item
        taken.add(change_id)
    return matched


def sync_changes(session: Session, version: PlanVersion) -> None:
    """Bring the stored changes of ``version`` (against its predecessor) up to date.

    Refuses with :class:`LinkedChangeError` when a registered guard names something linking
    to a change this would end or a span it would replace (the caller's transaction is then
    rolled back: nothing of the edit is kept)."""
    if version.predecessor_id is None:
        return
    session.flush()
    computed = computed_changes(session, version)
    stored = _load_current(session, version)
    matched = _match(computed, stored)
    continuing = {item.change.id for item in matched.values()}
    ended = [item for item in stored if item.change.id not in continuing]

    plans: list[tuple[_Computed, _Stored | None, list[Span]]] = []
    replaced: set[int] = set()
    for index, c in enumerate(computed):
        wanted = spans_for(c.old, c.new) if c.old and c.new else []
        item = matched.get(index)
        if item is not None:
            keep = {s.identity() for s in wanted}
            replaced.update(s.id for s in item.spans if s.identity() not in keep)
        plans.append((c, item, wanted))

    ended_ids = {item.change.id for item in ended}
    if ended_ids or replaced:
        names = [name for guard in _LINK_GUARDS for name in guard(session, ended_ids, replaced)]
        if names:
            raise LinkedChangeError(
                _l(
                    "This edit would undo or replace a change that is linked from: %(names)s. "
                    "Link those to another change first; nothing was saved.",
                    names="; ".join(names),
                )
            )

    now = utcnow()
    for item in ended:
        item.change.ended_at = now
        item.change.updated_at = now
    for c, item, wanted in plans:
        _write(session, version, c, item, wanted, now)
    session.flush()


def _write(session, version, c: _Computed, item: _Stored | None, wanted: list[Span], now):
    if item is None:
        change = TextChange(
            version_id=version.id,
            scope=c.scope,
            kind=c.kind,
            moved=c.moved,
            old_section_id=c.old_section_id,
            new_section_id=c.new_section_id,
            created_at=now,
            updated_at=now,
        )
        session.add(change)
        session.flush()
        item = _Stored(change, {}, {}, [])
    change = item.change
    touched = False
    for name in ("kind", "moved", "new_section_id"):
        if getattr(change, name) != getattr(c, name):
            setattr(change, name, getattr(c, name))
            touched = True
    for side, paragraphs, rows in (
        (ChangeSide.OLD, c.old or [], item.old),
        (ChangeSide.NEW, c.new or [], item.new),
    ):
        wanted_ids = {p.id: position for position, p in enumerate(paragraphs)}
        for paragraph_id, row in rows.items():
            if paragraph_id not in wanted_ids:
                session.delete(row)
                touched = True
            elif row.position != wanted_ids[paragraph_id]:
                row.position = wanted_ids[paragraph_id]
        for paragraph_id, position in wanted_ids.items():
            if paragraph_id not in rows:
                session.add(
                    TextChangeParagraph(
                        change_id=change.id,
                        side=side,
                        paragraph_id=paragraph_id,
                        version_id=version.id,
                        position=position,
                    )
                )
                touched = touched or bool(item.old or item.new)
    existing = {s.identity(): s for s in item.spans}
    for ordinal, span in enumerate(wanted):
        row = existing.pop(span.identity(), None)
        if row is None:
            session.add(
                TextChangeSpan(
                    change_id=change.id,
                    version_id=version.id,
                    ordinal=ordinal,
                    **{name: getattr(span, name) for name in SPAN_FIELDS},
                )
            )
            touched = True
        elif row.ordinal != ordinal:
            row.ordinal = ordinal
    for row in existing.values():
        session.delete(row)
        touched = True
    if touched:
        change.updated_at = now


# Reading them --------------------------------------------------------------------------------


def current_changes(session: Session, version_id: int, *, spans: bool = True) -> list[TextChange]:
    """The version's current changes, with their paragraphs and spans (three queries; two
    without the spans)."""
    options = [selectinload(TextChange.paragraphs)]
    if spans:
        options.append(selectinload(TextChange.spans))
    return list(
        session.scalars(
            select(TextChange)
            .where(TextChange.version_id == version_id, TextChange.ended_at.is_(None))
            .options(*options)
            .order_by(TextChange.id)
        )
    )


def attach_stored(session: Session, result) -> dict[int, TextChange]:
    """Give a :class:`~app.plans.diff.VersionDiff` of adjacent versions its stored changes
    (``change.stored``, ``section.stored``): their ids are its numbers. Two queries; nothing
    for versions that are not adjacent (their diff has no stable numbers)."""
    if not result.adjacent:
        return {}
    changes = {c.id: c for c in current_changes(session, result.new.id, spans=False)}
    paragraphs: dict[tuple, TextChange] = {}
    sections: dict[tuple, TextChange] = {}
    for change in changes.values():
        if change.scope is ChangeScope.SECTION:
            sections[(change.old_section_id, change.new_section_id)] = change
            continue
        old = frozenset(p.paragraph_id for p in change.paragraphs if p.side is ChangeSide.OLD)
        new = frozenset(p.paragraph_id for p in change.paragraphs if p.side is ChangeSide.NEW)
        paragraphs[(old, new)] = change
    for sd in result.sections:
        if sd.status != "same":
            key = (
                sd.old_section.id if sd.old_section is not None else None,
                sd.node.section.id if sd.node is not None else None,
            )
            sd.stored = sections.get(key)
        for change in sd.changes:
            key = (frozenset(p.id for p in change.old), frozenset(p.id for p in change.new))
            change.stored = paragraphs.get(key)
    return changes


@dataclass
class RemovedParagraphs:
    """A removed-paragraph change as the reading page shows it: the paragraphs it took away
    (of the predecessor), at their former place."""

    change: TextChange
    paragraphs: list[Paragraph]


@dataclass
class SectionNotice:
    """A section change at its heading: ``status`` is the change's kind (added, renamed,
    moved); ``old_heading`` the section's number and title before (renamed, moved)."""

    change: TextChange
    status: str
    old_heading: str = ""


@dataclass
class RemovedSection:
    """A section of the predecessor that the version no longer has, with the paragraphs
    removed with it."""

    change: TextChange | None
    heading: str
    removed: list[RemovedParagraphs] = field(default_factory=list)


@dataclass
class ReadingChanges:
    """What a successor's reading page shows of its stored changes, by where it goes:
    paragraph changes under their first paragraph; removed paragraphs after the paragraph
    that preceded them (``after``) or at the top of their section (``first``); section
    changes at their heading; removed sections at the end of their parent section (``None``:
    of the page)."""

    by_paragraph: dict[int, list[TextChange]] = field(default_factory=dict)
    after: dict[int, list[RemovedParagraphs]] = field(default_factory=dict)
    first: dict[int, list[RemovedParagraphs]] = field(default_factory=dict)
    sections: dict[int, SectionNotice] = field(default_factory=dict)
    removed_sections: dict[int | None, list[RemovedSection]] = field(default_factory=dict)

    @property
    def change_ids(self) -> list[int]:
        ids = [c.id for items in self.by_paragraph.values() for c in items]
        for places in (self.after, self.first):
            ids += [r.change.id for items in places.values() for r in items]
        ids += [n.change.id for n in self.sections.values()]
        for items in self.removed_sections.values():
            for gone in items:
                ids += [gone.change.id] if gone.change else []
                ids += [r.change.id for r in gone.removed]
        return ids

    def ids_within(self, nodes, *, page: bool) -> list[int]:
        """The ids of the changes a page showing ``nodes`` (with their subsections) places:
        ``page`` — the version's own page — also shows the removed top-level sections."""
        sections = {node.section.id for top in nodes for node in top.walk()}
        paragraphs = {p.id for top in nodes for node in top.walk() for p in node.paragraphs}
        ids = [c.id for key, items in self.by_paragraph.items() if key in paragraphs for c in items]
        ids += [
            r.change.id for key, items in self.after.items() if key in paragraphs for r in items
        ]
        ids += [r.change.id for key, items in self.first.items() if key in sections for r in items]
        ids += [n.change.id for key, n in self.sections.items() if key in sections]
        for parent, items in self.removed_sections.items():
            if parent in sections or (parent is None and page):
                for gone in items:
                    ids += [gone.change.id] if gone.change else []
                    ids += [r.change.id for r in gone.removed]
        return ids


def _heading_of(section) -> str:
    return f"{section.number} {section.title}".strip()


def reading_changes(session: Session, version: PlanVersion, tree) -> ReadingChanges:
    """The version's current changes placed on its reading page (``tree``: the version's,
    from :func:`~app.plans.tree.load_tree`, text or not). At most six queries, whatever the
    number of changes: the changes and their paragraphs, then — only if some paragraph or
    section was removed or a section changed — the removed paragraphs, the predecessor's
    sections concerned, this version's sections that continue them and the predecessor's
    paragraphs of those sections (to find where each removed paragraph was)."""
    out = ReadingChanges()
    removed: list[TextChange] = []
    section_changes: list[TextChange] = []
    for change in current_changes(session, version.id, spans=False):
        if change.scope is ChangeScope.SECTION:
            section_changes.append(change)
            continue
        new = [p for p in change.paragraphs if p.side is ChangeSide.NEW]
        if new:
            first = min(new, key=lambda p: p.position).paragraph_id
            out.by_paragraph.setdefault(first, []).append(change)
        else:
            removed.append(change)
    if not removed and not section_changes:
        return out
    old_ids = [p.paragraph_id for c in removed for p in c.paragraphs if p.side is ChangeSide.OLD]
    gone = (
        {p.id: p for p in session.scalars(select(Paragraph).where(Paragraph.id.in_(old_ids)))}
        if old_ids
        else {}
    )
    wanted = {p.section_id for p in gone.values()}
    wanted |= {c.old_section_id for c in section_changes if c.old_section_id}
    old_sections = {s.id: s for s in session.scalars(select(Section).where(Section.id.in_(wanted)))}
    parents = {s.parent_id for s in old_sections.values() if s.parent_id}
    continued = {
        s.predecessor_id: s.id
        for s in session.scalars(
            select(Section).where(
                Section.version_id == version.id,
                Section.predecessor_id.in_(set(old_sections) | parents),
            )
        )
    }
    kept = [i for i in {p.section_id for p in gone.values()} if i in continued]
    siblings: dict[int, list[Paragraph]] = {}
    if kept:
        for p in session.scalars(
            select(Paragraph)
            .where(Paragraph.section_id.in_(kept))
            .options(load_only(Paragraph.key, Paragraph.section_id, Paragraph.position))
            .order_by(Paragraph.position, Paragraph.id)
        ):
            siblings.setdefault(p.section_id, []).append(p)
    removed_sections: dict[int, RemovedSection] = {}
    for change in section_changes:
        old = old_sections.get(change.old_section_id)
        if change.kind is TextChangeKind.REMOVED and old is not None:
            removed_sections[old.id] = RemovedSection(change, _heading_of(old))
        elif change.new_section_id is not None:
            heading = (
                _heading_of(old)
                if old is not None
                and change.kind
                in (
                    TextChangeKind.RENAMED,
                    TextChangeKind.MOVED,
                )
                else ""
            )
            out.sections[change.new_section_id] = SectionNotice(change, change.kind.value, heading)
    for change in removed:
        paragraphs = sorted(
            (gone[p.paragraph_id] for p in change.paragraphs if p.paragraph_id in gone),
            key=lambda p: p.position,
        )
        if not paragraphs:
            continue
        item = RemovedParagraphs(change, paragraphs)
        first = paragraphs[0]
        target = continued.get(first.section_id)
        node = tree.nodes.get(target) if target is not None else None
        if node is None:
            section = old_sections.get(first.section_id)
            holder = removed_sections.setdefault(
                first.section_id,
                RemovedSection(None, _heading_of(section) if section else ""),
            )
            holder.removed.append(item)
            continue
        keys = {p.key: p.id for p in node.paragraphs}
        place = None
        for p in siblings.get(first.section_id, []):
            if p.position >= first.position:
                break
            if p.key in keys:
                place = keys[p.key]
        if place is None:
            out.first.setdefault(target, []).append(item)
        else:
            out.after.setdefault(place, []).append(item)
    for old_id, holder in removed_sections.items():
        parent = old_sections[old_id].parent_id if old_id in old_sections else None
        out.removed_sections.setdefault(continued.get(parent), []).append(holder)
    return out


def backfill_changes(session: Session) -> int:
    """Store the changes of every version with a predecessor that has none yet (versions made
    before changes were stored, frozen ones included). Returns how many versions it filled."""
    have = set(session.scalars(select(TextChange.version_id).distinct()))
    versions = session.scalars(
        select(PlanVersion).where(PlanVersion.predecessor_id.is_not(None)).order_by(PlanVersion.id)
    ).all()
    filled = 0
    session.info[BACKFILL] = True
    try:
        for version in versions:
            if version.id in have:
                continue
            sync_changes(session, version)
            filled += 1
    finally:
        session.info.pop(BACKFILL, None)
    return filled


__all__ = [
    "Annotation",
    "ChangeScope",
    "ChangeSide",
    "LinkedChangeError",
    "Span",
    "TextChange",
    "TextChangeKind",
    "TextChangeParagraph",
    "TextChangeSpan",
    "annotations",
    "attach_stored",
    "backfill_changes",
    "current_changes",
    "narrow",
    "reading_changes",
    "register_change_annotator",
    "register_link_guard",
    "spans_for",
    "sync_changes",
]
