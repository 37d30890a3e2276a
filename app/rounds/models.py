"""Consultation rounds: one frozen version of a plan, a window, and who may take part.

The life cycle is in one place, :class:`Round`'s guarded transitions:
draft → scheduled → open → closed → in review → concluded (a scheduled round can go back to
draft). Opening freezes the version. The deadline itself is enforced by time at the moment of
submission (:meth:`Round.accepts_at`), whatever the stored state says.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.plans.models import PlanVersion
from app.stakeholders.models import Group, OrganisationKind, Zone


class RoundState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    IN_REVIEW = "in_review"
    CONCLUDED = "concluded"


class RoundError(Refusal):
    """A refusal to show the user as it is (the message is translatable)."""


class ConclusionRefused(RoundError):
    """Concluding is refused: ``gaps`` lists what a conclusion check found missing."""

    def __init__(self, message, gaps: list[str]):
        super().__init__(message)
        self.gaps = gaps


round_groups = Table(
    "round_groups",
    Base.metadata,
    Column("round_id", ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

round_zones = Table(
    "round_zones",
    Base.metadata,
    Column("round_id", ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)


class RoundKind(Base):
    """An organisation kind whose every member may take part (e.g. all comuni)."""

    __tablename__ = "round_organisation_kinds"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[OrganisationKind] = mapped_column(
        enum_type(OrganisationKind, "kind"), primary_key=True
    )


#: Transitions allowed by each action, and the state each leads to.
TRANSITIONS = {
    "schedule": ({RoundState.DRAFT}, RoundState.SCHEDULED),
    "unschedule": ({RoundState.SCHEDULED}, RoundState.DRAFT),
    "open": ({RoundState.SCHEDULED}, RoundState.OPEN),
    "close": ({RoundState.OPEN}, RoundState.CLOSED),
    "start_review": ({RoundState.CLOSED}, RoundState.IN_REVIEW),
    "conclude": ({RoundState.IN_REVIEW}, RoundState.CONCLUDED),
}


class Round(Base):
    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("protocol_prefix <> ''", name="protocol_prefix_not_empty"),
        CheckConstraint("reminder_days >= 0", name="reminder_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    #: Cleaned HTML shown above the text and the form.
    instructions: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[RoundState] = mapped_column(
        enum_type(RoundState, "state"), default=RoundState.DRAFT
    )
    #: Observations arriving after the close are still taken (until the review starts), flagged
    #: as late.
    accept_late: Mapped[bool] = mapped_column(default=False)
    #: Observations become public after the close.
    publish_after_close: Mapped[bool] = mapped_column(default=True)
    #: Registered citizens (accounts with the citizen role) may take part too.
    citizens_eligible: Mapped[bool] = mapped_column(default=False)
    #: Start of every protocol number, e.g. "PSM2019" gives PSM2019-0042.
    protocol_prefix: Mapped[str] = mapped_column(String(20), unique=True)
    #: Days before the close when eligible referents get a reminder (0: none).
    reminder_days: Mapped[int] = mapped_column(Integer, default=3)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The successor of the consulted version in which the editors answer the round (its
    #: stored changes against the consulted version are what decisions link to).
    response_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_versions.id"), index=True
    )

    version: Mapped[PlanVersion] = relationship(lazy="joined", foreign_keys=[plan_version_id])
    response_version: Mapped[PlanVersion | None] = relationship(foreign_keys=[response_version_id])
    created_by: Mapped[User | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=round_groups, order_by="Group.name")
    zones: Mapped[list[Zone]] = relationship(secondary=round_zones, order_by="Zone.name")
    kind_rows: Mapped[list[RoundKind]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def kinds(self) -> set[OrganisationKind]:
        return {row.kind for row in self.kind_rows}

    def set_kinds(self, kinds) -> None:
        wanted = set(kinds)
        self.kind_rows[:] = [row for row in self.kind_rows if row.kind in wanted]
        for kind in sorted(wanted - self.kinds):
            self.kind_rows.append(RoundKind(kind=kind))

    # The life cycle ------------------------------------------------------------------------

    def _transition(self, action: str) -> None:
        allowed, target = TRANSITIONS[action]
        if self.state not in allowed:
            raise RoundError(
                _l(
                    "A round that is %(state)s cannot be changed that way.",
                    state=STATE_LABELS[self.state],
                )
            )
        self.state = target

    def schedule(self) -> None:
        if not (self.groups or self.zones or self.kind_rows or self.citizens_eligible):
            raise RoundError(_l("Choose who may take part before scheduling the round."))
        self._transition("schedule")

    def unschedule(self) -> None:
        self._transition("unschedule")

    def open(self, now: datetime) -> None:
        """Open the round; its version is frozen now if it was still a draft."""
        self._transition("open")
        if self.version.is_draft:
            self.version.freeze()
        self.opened_at = now

    def close(self, now: datetime) -> None:
        self._transition("close")
        self.closed_at = now

    def start_review(self) -> None:
        self._transition("start_review")

    def conclude(self) -> None:
        self._transition("conclude")

    # Time ----------------------------------------------------------------------------------

    def accepts_at(self, now: datetime) -> tuple[bool, bool]:
        """Whether a submission made at ``now`` is taken, and whether it is late."""
        if self.state not in (RoundState.SCHEDULED, RoundState.OPEN, RoundState.CLOSED):
            return False, False
        if now < self.opens_at:
            return False, False
        if now < self.closes_at:
            return self.state is not RoundState.CLOSED, False
        return self.accept_late, True

    def is_open_at(self, now: datetime) -> bool:
        return self.accepts_at(now)[0] and now < self.closes_at

    def protocol_code(self, number: int) -> str:
        return f"{self.protocol_prefix}-{number:04d}"

    def __repr__(self) -> str:
        return f"<Round {self.id} {self.state} {self.title[:30]!r}>"


class ConclusionOverride(Base):
    """An administrator concluded the round although a conclusion check listed gaps: who,
    when, why (the reason stays here, never in the audit trail) and what was missing."""

    __tablename__ = "round_conclusion_overrides"
    __table_args__ = (CheckConstraint("reason <> ''", name="reason_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    #: The gaps listed at that moment, one a line.
    gaps: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProtocolCounter(Base):
    """The last protocol number given in a round.

    Incremented in the transaction that registers the observation, so a rolled-back submission
    gives its number back: numbers are unique and gap-free.
    """

    __tablename__ = "protocol_counters"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer, default=0)


STATE_LABELS = {
    RoundState.DRAFT: _l("in preparation"),
    RoundState.SCHEDULED: _l("scheduled"),
    RoundState.OPEN: _l("open"),
    RoundState.CLOSED: _l("closed"),
    RoundState.IN_REVIEW: _l("in review"),
    RoundState.CONCLUDED: _l("concluded"),
}
