"""Where something points in the text of a plan: the anchor shared by observations and points.

An anchor is a target kind (the plan as a whole, a section, a paragraph, or a quoted passage of a
paragraph) with the section and paragraph it names in one version, and, for a passage, the quoted
words exactly as in the paragraph's plain text with their offsets. :class:`AnchorMixin` gives a
model these columns and :func:`anchor_constraints` their CHECK constraints; :func:`resolve` is
the one place an anchor sent by a browser, a form or the API is checked against a version (and a
quoted passage found again when its offsets do not fit).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Text, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship

from app.core.db import enum_type
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.plans.models import Paragraph, Section

#: The longest passage one may quote.
QUOTE_MAX = 5_000


class Target(enum.StrEnum):
    PLAN = "plan"
    SECTION = "section"
    PARAGRAPH = "paragraph"
    PASSAGE = "passage"


class AnchorError(Refusal):
    """The anchor does not fit the text (the message is translatable; the field is "anchor")."""

    def __init__(self, message):
        super().__init__(message, "anchor")


def anchor_constraints() -> tuple[CheckConstraint, ...]:
    """The CHECK constraints of an anchor, for the ``__table_args__`` of a model using
    :class:`AnchorMixin` (named per table by the metadata's naming convention)."""
    return (
        CheckConstraint(
            "(target = 'plan' AND section_id IS NULL AND paragraph_id IS NULL)"
            " OR (target = 'section' AND section_id IS NOT NULL AND paragraph_id IS NULL)"
            " OR (target IN ('paragraph', 'passage') AND paragraph_id IS NOT NULL)",
            name="target_matches_anchor",
        ),
        CheckConstraint(
            "(target = 'passage') = (quote_text IS NOT NULL)", name="quote_iff_passage"
        ),
        CheckConstraint(
            "quote_start IS NULL OR (quote_start >= 0 AND quote_end > quote_start)",
            name="quote_offsets_ordered",
        ),
    )


class AnchorMixin:
    """The anchor's columns: into the version the row belongs to (for an observation or a point,
    the version its round consulted)."""

    target: Mapped[Target] = mapped_column(enum_type(Target, "target"), default=Target.PLAN)

    @declared_attr
    def section_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("plan_sections.id"))

    @declared_attr
    def paragraph_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("plan_paragraphs.id"), index=True)

    #: The quoted passage, exactly as in the paragraph's plain text, and where it is.
    quote_text: Mapped[str | None] = mapped_column(Text)
    quote_start: Mapped[int | None] = mapped_column(Integer)
    quote_end: Mapped[int | None] = mapped_column(Integer)

    @declared_attr
    def section(cls) -> Mapped[Section | None]:
        return relationship(Section)

    @declared_attr
    def paragraph(cls) -> Mapped[Paragraph | None]:
        return relationship(Paragraph)

    @property
    def anchor(self) -> Anchor:
        return Anchor.of(self)


ANCHOR_FIELDS = ("target", "section", "paragraph", "quote_text", "quote_start", "quote_end")


@dataclass(frozen=True)
class Anchor:
    target: Target
    section: Section | None = None
    paragraph: Paragraph | None = None
    quote_text: str | None = None
    quote_start: int | None = None
    quote_end: int | None = None

    @classmethod
    def of(cls, row: AnchorMixin) -> Anchor:
        """The anchor an observation or a point carries (to copy it onto another)."""
        return cls(**{name: getattr(row, name) for name in ANCHOR_FIELDS})

    def fields(self) -> dict:
        """The columns of an :class:`AnchorMixin` model this anchor fills."""
        return {name: getattr(self, name) for name in ANCHOR_FIELDS}


def resolve(
    session: Session,
    version_id: int,
    *,
    section_key: str | None = None,
    paragraph_key: str | None = None,
    quote: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Anchor:
    """The anchor named by keys (and a quote), checked against one version of the text."""
    if paragraph_key:
        paragraph = session.scalar(
            select(Paragraph).where(
                Paragraph.version_id == version_id, Paragraph.key == paragraph_key
            )
        )
        if paragraph is None:
            raise AnchorError(_l("This paragraph is not in the text of this round."))
        if quote is None or not quote.strip():
            return Anchor(Target.PARAGRAPH, paragraph.section, paragraph)
        start, end = locate_quote(paragraph.text, quote, start, end)
        return Anchor(
            Target.PASSAGE, paragraph.section, paragraph, paragraph.text[start:end], start, end
        )
    if section_key:
        section = session.scalar(
            select(Section).where(Section.version_id == version_id, Section.key == section_key)
        )
        if section is None:
            raise AnchorError(_l("This section is not in the text of this round."))
        return Anchor(Target.SECTION, section)
    return Anchor(Target.PLAN)


def locate_quote(text: str, quote: str, start: int | None, end: int | None) -> tuple[int, int]:
    """The offsets of the quoted passage in the paragraph's plain text.

    The offsets sent by the browser are trusted only if they point at exactly the quoted words;
    otherwise the passage is searched for (its first occurrence, spacing ignored at the ends).
    """
    if len(quote) > QUOTE_MAX:
        raise AnchorError(_l("The quoted passage is too long."))
    offsets_fit = start is not None and end is not None and 0 <= start < end <= len(text)
    if offsets_fit and text[start:end] == quote:
        return start, end
    wanted = re.sub(r"\s+", " ", quote).strip()  # the stored text has its spacing collapsed
    found = text.find(wanted) if wanted else -1
    if found < 0:
        raise AnchorError(
            _l("The quoted passage is not in the paragraph: select it again in the text.")
        )
    return found, found + len(wanted)


# Following an anchor into a later version ------------------------------------------------


class FollowStatus(enum.StrEnum):
    """What became of an anchored text in a later version."""

    PLAN = "plan"  # the plan as a whole: nothing to follow
    SAME = "same"  # the same words (possibly moved)
    EDITED = "edited"
    SPLIT = "split"  # into several paragraphs
    MERGED = "merged"  # into one paragraph with others
    REMOVED = "removed"
    RENAMED = "renamed"  # a section with a new number or title


@dataclass
class Followed:
    """Where an anchor stands in the target version.

    ``paragraphs``: what the anchored paragraph now is (several after a split, the merged one
    after a merge, none once removed); ``section``: the anchored section, or the section the
    paragraph now sits in; ``moved``: the paragraph now sits in a section that does not continue
    its old one. For a quoted passage, ``quote_paragraph``/``quote_start``/``quote_end`` are its
    new place where the quoted words survive intact (None where they do not)."""

    anchor: Anchor
    status: FollowStatus
    paragraphs: list[Paragraph]
    section: Section | None = None
    moved: bool = False
    quote_paragraph: Paragraph | None = None
    quote_start: int | None = None
    quote_end: int | None = None

    @property
    def quote_survives(self) -> bool:
        return self.quote_paragraph is not None


def follow(session: Session, anchor: Anchor, target) -> Followed:
    """One anchor followed into ``target`` (a later version of the same plan)."""
    return follow_many(session, [anchor], target)[0]


def follow_many(session: Session, anchors: list[Anchor], target) -> list[Followed]:
    """Many anchors followed through the lineage into ``target``, with a bounded number of
    queries whatever their number: the plan's versions, the lineage of the steps, the sections
    of the steps, and the paragraphs reached (one each).

    An anchor into a version that ``target`` does not descend from raises
    :class:`app.plans.diff.NotRelated`; an anchor into ``target`` itself is ``same``."""
    from collections import defaultdict

    from app.plans.diff import chain
    from app.plans.models import ParagraphLineage, PlanVersion

    sources = {a.paragraph.version_id for a in anchors if a.paragraph is not None}
    sources |= {a.section.version_id for a in anchors if a.section is not None}
    versions = {
        v.id: v
        for v in session.scalars(select(PlanVersion).where(PlanVersion.plan_id == target.plan_id))
    }
    steps_of: dict[int, list[int]] = {}
    for source in sources:
        if source == target.id:
            steps_of[source] = []
            continue
        if source not in versions:
            from app.plans.diff import NotRelated

            raise NotRelated
        steps_of[source] = [v.id for v in chain(session, versions[source], target)]
    step_ids = {i for steps in steps_of.values() for i in steps}
    forward: dict[int, list[int | None]] = defaultdict(list)  # predecessor -> successors
    incoming: dict[int, int] = defaultdict(int)  # successor -> number of predecessors
    section_next: dict[int, int] = {}
    if step_ids:
        for pred, succ in session.execute(
            select(ParagraphLineage.predecessor_id, ParagraphLineage.successor_id).where(
                ParagraphLineage.version_id.in_(step_ids)
            )
        ):
            if pred is not None:
                forward[pred].append(succ)
            if succ is not None and pred is not None:
                incoming[succ] += 1
        for section_id, predecessor_id in session.execute(
            select(Section.id, Section.predecessor_id).where(
                Section.version_id.in_(step_ids), Section.predecessor_id.is_not(None)
            )
        ):
            section_next[predecessor_id] = section_id

    def follow_section(section_id: int, steps: list[int]) -> int | None:
        current: int | None = section_id
        for _step in steps:
            current = section_next.get(current) if current is not None else None
        return current

    walks = []
    for anchor in anchors:
        steps = steps_of.get(
            (anchor.paragraph or anchor.section).version_id
            if (anchor.paragraph or anchor.section)
            else target.id,
            [],
        )
        split = merged = False
        ids: list[int] = [anchor.paragraph.id] if anchor.paragraph is not None else []
        for _step in steps:
            reached: list[int] = []
            for pid in ids:
                successors = [s for s in forward.get(pid, []) if s is not None]
                split = split or len(successors) > 1
                for s in successors:
                    merged = merged or incoming.get(s, 0) > 1
                    if s not in reached:
                        reached.append(s)
            ids = reached
        old_section = anchor.section.id if anchor.section is not None else None
        walks.append((anchor, ids, split, merged, follow_section(old_section, steps)))

    wanted = {pid for _a, ids, *_rest in walks for pid in ids}
    section_ids = {s for *_rest, s in walks if s is not None}
    found = {p.id: p for p in session.scalars(select(Paragraph).where(Paragraph.id.in_(wanted)))}
    section_ids |= {p.section_id for p in found.values()}
    sections = {
        s.id: s for s in session.scalars(select(Section).where(Section.id.in_(section_ids)))
    }
    return [
        _followed(a, ids, split, merged, s, found, sections) for a, ids, split, merged, s in walks
    ]


def _followed(anchor, ids, split, merged, section_id, found, sections) -> Followed:
    section = sections.get(section_id) if section_id is not None else None
    if anchor.target is Target.PLAN:
        return Followed(anchor, FollowStatus.PLAN, [])
    if anchor.target is Target.SECTION:
        if section is None:
            return Followed(anchor, FollowStatus.REMOVED, [])
        old = anchor.section
        renamed = (section.number, section.title) != (old.number, old.title)
        status = FollowStatus.RENAMED if renamed else FollowStatus.SAME
        return Followed(anchor, status, [], section=section)
    paragraphs = sorted(
        (found[i] for i in ids if i in found), key=lambda p: (p.section_id, p.position)
    )
    if not paragraphs:
        return Followed(anchor, FollowStatus.REMOVED, [], section=section)
    if split and len(paragraphs) > 1:
        status = FollowStatus.SPLIT
    elif merged:
        status = FollowStatus.MERGED
    elif paragraphs[0].text == anchor.paragraph.text:
        status = FollowStatus.SAME
    else:
        status = FollowStatus.EDITED
    here = sections.get(paragraphs[0].section_id)
    result = Followed(
        anchor,
        status,
        paragraphs,
        section=here,
        moved=section_id is None or paragraphs[0].section_id != section_id,
    )
    if anchor.target is Target.PASSAGE and anchor.quote_text:
        _place_quote(result, anchor)
    return result


def _place_quote(result: Followed, anchor: Anchor) -> None:
    """The quoted words' new place: the same offsets if the text there is unchanged, else the
    occurrence nearest the old offset, in the first paragraph that has them."""
    quote, start = anchor.quote_text, anchor.quote_start or 0
    for paragraph in result.paragraphs:
        text = paragraph.text
        if text[start : start + len(quote)] == quote:
            result.quote_paragraph, result.quote_start = paragraph, start
            result.quote_end = start + len(quote)
            return
        occurrences = [m.start() for m in re.finditer(re.escape(quote), text)]
        if occurrences:
            best = min(occurrences, key=lambda at: abs(at - start))
            result.quote_paragraph, result.quote_start = paragraph, best
            result.quote_end = best + len(quote)
            return
