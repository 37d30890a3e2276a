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
    wanted = quote.strip()
    found = text.find(wanted) if wanted else -1
    if found < 0:
        raise AnchorError(
            _l("The quoted passage is not in the paragraph: select it again in the text.")
        )
    return found, found + len(wanted)
