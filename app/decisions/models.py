"""Decisions: the outcome and the reasoning (*controdeduzione*) of every point, kept beside it.

A point (``observations.models.Point``) gets at most one :class:`Decision`: a draft the
assigned editors write, then published. Once published, every change keeps the previous text
as a :class:`DecisionRevision` (who, when, what). :class:`AnswerTemplate` holds recurring
reasonings; :class:`RoundDecisionSettings` what staff configured for one round (who may decide,
which outcomes need no reasoning). The links to the text (``DecisionLink``) are in
``app.decisions.links``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.observations.models import Point


class DecisionError(Refusal):
    """A refusal to show the editor as it is (the message is translatable)."""


class Conflict(DecisionError):
    """Someone else changed the decision since the page was shown: nothing was written."""


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    NOT_ACCEPTED = "not_accepted"
    NOT_RELEVANT = "not_relevant"
    ALREADY_COVERED = "already_covered"


#: The outcomes in the order the form offers them; the labels are the Italian terms of art
#: (*accolta*, *parzialmente accolta*…) once translated.
OUTCOME_LABELS = {
    Outcome.ACCEPTED: _l("accepted"),
    Outcome.PARTLY_ACCEPTED: _l("partly accepted"),
    Outcome.NOT_ACCEPTED: _l("not accepted"),
    Outcome.NOT_RELEVANT: _l("not relevant"),
    Outcome.ALREADY_COVERED: _l("already covered"),
}

#: Outcomes that changed the text: they must link to stored changes of the response version.
CHANGING = frozenset({Outcome.ACCEPTED, Outcome.PARTLY_ACCEPTED})


class DecisionState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


STATE_LABELS = {DecisionState.DRAFT: _l("draft"), DecisionState.PUBLISHED: _l("published")}

REASONING_MAX = 20_000
TITLE_MAX = 200


class Decision(Base):
    """The decision on one point: a draft until published; published, it is what the author
    reads. ``round_id`` is the point's round, kept here so a round's lists need no join."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(
            "(state = 'published') = (published_at IS NOT NULL)", name="published_at_iff_published"
        ),
        CheckConstraint("state = 'draft' OR outcome IS NOT NULL", name="published_has_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    outcome: Mapped[Outcome | None] = mapped_column(enum_type(Outcome, "outcome"))
    reasoning: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[DecisionState] = mapped_column(
        enum_type(DecisionState, "state"), default=DecisionState.DRAFT
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Optimistic lock: the form sends back the value its page was made from.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    point: Mapped[Point] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    @property
    def published(self) -> bool:
        return self.state is DecisionState.PUBLISHED

    def __repr__(self) -> str:
        return f"<Decision {self.id} point={self.point_id} {self.state} {self.outcome}>"


class DecisionRevision(Base):
    """What a published decision said before a change: kept, never changed (one row per change
    after publication, numbered from 1)."""

    __tablename__ = "decision_revisions"
    __table_args__ = (CheckConstraint("number >= 1", name="number_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[Outcome] = mapped_column(enum_type(Outcome, "outcome"))
    reasoning: Mapped[str] = mapped_column(Text, default="")
    #: The links as they were, one description a line (the rows themselves move on).
    links: Mapped[str] = mapped_column(Text, default="")
    #: Who wrote the text kept here, and when it was published or last changed.
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Who replaced it, and when.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    written_by: Mapped[User | None] = relationship(foreign_keys=[written_by_id])
    replaced_by: Mapped[User | None] = relationship(foreign_keys=[replaced_by_id])


class AnswerTemplate(Base):
    """A recurring reasoning editors start from (copied into the decision, never linked)."""

    __tablename__ = "answer_templates"
    __table_args__ = (
        CheckConstraint("title <> ''", name="title_not_empty"),
        CheckConstraint("body <> ''", name="body_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    #: The outcome it is usually given with (offered first for that outcome), if any.
    outcome: Mapped[Outcome | None] = mapped_column(enum_type(Outcome, "outcome"))
    archived: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoundDecisionSettings(Base):
    """What staff configured for deciding one round (a round without a row: the defaults)."""

    __tablename__ = "round_decision_settings"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    #: Any plan editor may decide any point of the round, not only those it was assigned.
    any_editor: Mapped[bool] = mapped_column(default=False)
    #: Outcomes published without a reasoning (comma-separated codes, e.g. "not_relevant").
    reasoning_optional: Mapped[str] = mapped_column(String(200), default="")

    @property
    def optional_outcomes(self) -> frozenset[Outcome]:
        return frozenset(Outcome(c) for c in self.reasoning_optional.split(",") if c)

    def set_optional(self, outcomes) -> None:
        self.reasoning_optional = ",".join(sorted(Outcome(o).value for o in outcomes))
