"""Observations: what a stakeholder sends on a round, anchored to the text, with its receipt.

An observation is a draft until it is submitted; from then on its content is immutable (a
correction is a new observation that references the first) and it carries a protocol number,
unique and gap-free within its round. Withdrawal is recorded, never a deletion.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column, relationship

from app.accounts.models import User
from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.plans.anchors import AnchorMixin, Target, anchor_constraints  # noqa: F401 (Target)
from app.rounds.models import Round
from app.stakeholders.models import Organisation


class ObservationKind(enum.StrEnum):
    OBSERVATION = "observation"
    SUGGESTION = "suggestion"
    AMENDMENT = "amendment"


class ObservationState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class Channel(enum.StrEnum):
    WEB = "web"
    API = "api"
    PEC = "pec"
    LETTER = "letter"
    EMAIL = "email"
    MEETING = "meeting"


#: Channels through which staff record what arrived outside Traccia.
INTAKE_CHANNELS = (Channel.PEC, Channel.LETTER, Channel.EMAIL, Channel.MEETING)


class ObservationError(Refusal):
    """A refusal to show the user as it is (the message is translatable)."""


class ImmutableObservationError(ObservationError):
    pass


class NotEligibleError(ObservationError):
    """The user or organisation may not take part in the round."""

    status = 403


class OutsideWindowError(ObservationError):
    """The round does not take observations at this moment."""

    status = 409
    code = "round_not_accepting"


class Observation(AnchorMixin, Base):
    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("round_id", "protocol_number"),
        CheckConstraint(
            "(state = 'draft') = (protocol_number IS NULL)", name="numbered_iff_submitted"
        ),
        CheckConstraint(
            "(state = 'draft') = (submitted_at IS NULL)", name="submitted_at_iff_submitted"
        ),
        CheckConstraint(
            "(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_at_iff_withdrawn"
        ),
        *anchor_constraints(),
        CheckConstraint(
            "state = 'draft' OR kind <> 'amendment' OR proposed_text IS NOT NULL",
            name="amendment_has_proposed_text",
        ),
        Index("ix_observations_round_state", "round_id", "state"),
        Index("ix_observations_round_section", "round_id", "section_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    #: On whose behalf; None for a registered citizen speaking for themselves.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: Who wrote it in Traccia (the referent); for staff intake, the staff member who recorded it.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"), default=Channel.WEB)
    #: When it reached the body (staff intake: the date on the PEC, letter or meeting).
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: For staff intake: who signed the original (e.g. "Il Sindaco, Mario Rossi").
    signatory: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[ObservationKind] = mapped_column(
        enum_type(ObservationKind, "kind"), default=ObservationKind.OBSERVATION
    )
    #: For amendments: the replacement text proposed for the passage or paragraph.
    proposed_text: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(300), default="")
    #: Cleaned HTML (nh3) and its plain text.
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    #: The author agreed that their name be published with the observation.
    consent_public_name: Mapped[bool] = mapped_column(default=False)
    state: Mapped[ObservationState] = mapped_column(
        enum_type(ObservationState, "state"), default=ObservationState.DRAFT
    )
    protocol_number: Mapped[int | None] = mapped_column(Integer)
    #: E.g. PSM2019-0042; unique across rounds because prefixes are.
    protocol_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False)
    #: SHA-256 of exactly what was submitted (see observations.receipts).
    digest: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the verification code given on the receipt (the code itself is not kept).
    verification_hash: Mapped[str | None] = mapped_column(String(64))
    #: The earlier observation this one corrects.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("observations.id"), index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: The token of the form that created it: the same form sent twice makes one observation.
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Optimistic lock for draft saves from several tabs.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    round: Mapped[Round] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    author: Mapped[User] = relationship(lazy="joined")
    corrects: Mapped[Observation | None] = relationship(remote_side=[id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="observation", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    #: Its numbered points (read only from here: a point changing is not the observation
    #: changing, so the immutability guard never sees it).
    points: Mapped[list[Point]] = relationship(
        viewonly=True, order_by="Point.number", lazy="select"
    )

    @property
    def is_draft(self) -> bool:
        return self.state is ObservationState.DRAFT

    def __repr__(self) -> str:
        return f"<Observation {self.id} {self.protocol_code or 'draft'}>"


class Attachment(Base):
    """A file sent with an observation, kept in the database (a lost disk loses nothing)."""

    __tablename__ = "observation_attachments"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    #: Detected from the content (PDF, ODT, DOCX), never taken from the upload.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    observation: Mapped[Observation] = relationship(back_populates="attachments")


class PointState(enum.StrEnum):
    ACTIVE = "active"
    #: Taken back by moderation (merged into another, or split differently): the row and its
    #: number stay, so a number once given is never given again.
    RETIRED = "retired"


class Point(AnchorMixin, Base):
    """One numbered part of a registered observation (``PSM2019-0042/3``), with its own anchor.

    Every registered observation has point 1, with the observation's anchor, from the
    transaction that registers it; moderation may split it into more. What a point says is a
    character range of the observation's plain text (``excerpt_start``/``excerpt_end``), a
    moderator's summary, or both. Points are never deleted and their numbers never reused: a
    point taken back is retired. Unlike the observation, a point changes (optimistic lock).
    """

    __tablename__ = "points"
    __table_args__ = (
        UniqueConstraint("observation_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        *anchor_constraints(),
        CheckConstraint(
            "(excerpt_start IS NULL) = (excerpt_end IS NULL)", name="excerpt_range_complete"
        ),
        CheckConstraint(
            "excerpt_start IS NULL OR (excerpt_start >= 0 AND excerpt_end > excerpt_start)",
            name="excerpt_range_ordered",
        ),
        CheckConstraint(
            "excerpt_start IS NOT NULL OR summary IS NOT NULL", name="excerpt_or_summary"
        ),
        CheckConstraint(
            "(state = 'retired') = (retired_at IS NOT NULL)", name="retired_at_iff_retired"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    #: 1, 2, 3… within the observation, never reused.
    number: Mapped[int] = mapped_column(Integer)
    #: The part of the observation's ``body_text`` this point is, as character offsets.
    excerpt_start: Mapped[int | None] = mapped_column(Integer)
    excerpt_end: Mapped[int | None] = mapped_column(Integer)
    #: A moderator's summary of the point, when the excerpt alone does not say it.
    summary: Mapped[str | None] = mapped_column(Text)
    state: Mapped[PointState] = mapped_column(
        enum_type(PointState, "state"), default=PointState.ACTIVE
    )
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    observation: Mapped[Observation] = relationship(lazy="joined", innerjoin=True)

    @property
    def label(self) -> str:
        """E.g. ``PSM2019-0042/3``: the observation's protocol number and the point's."""
        return self.label_of(self.observation.protocol_code, self.number)

    @staticmethod
    def label_of(protocol_code: str | None, number: int) -> str:
        """The label from its two parts (for lists that read them as columns)."""
        return f"{protocol_code}/{number}"

    @property
    def excerpt(self) -> str | None:
        """The words of the observation this point is (None when it is only a summary)."""
        if self.excerpt_start is None:
            return None
        return self.observation.body_text[self.excerpt_start : self.excerpt_end]

    def __repr__(self) -> str:
        return f"<Point {self.id} {self.observation_id}/{self.number}>"


# Immutability once submitted ---------------------------------------------------------------

#: What may still change on a submitted observation: withdrawal, and bookkeeping.
_MUTABLE_AFTER_SUBMISSION = {
    "state",
    "withdrawn_at",
    "withdrawal_reason",
    "updated_at",
    "lock_version",
}


#: The one exception the guard allows beyond withdrawal: erasing personal data a person asked to
#: have erased (GDPR art. 17). Only under :func:`erasing`, and only blanking these columns (None,
#: or "" where the column is not nullable); the erasure's own record (who asked, when, on what
#: grounds, what was erased) belongs in its side table, never on this row.
ERASABLE_AFTER_SUBMISSION = frozenset(
    {"signatory", "title", "body_html", "body_text", "proposed_text", "withdrawal_reason"}
)
_ERASING = "erasing_observations"


@contextmanager
def erasing(session: Session, observation: Observation) -> Iterator[None]:
    """Let the flushes inside this block blank the erasable columns of ``observation``."""
    ids = session.info.setdefault(_ERASING, set())
    ids.add(observation.id)
    try:
        yield
    finally:
        ids.discard(observation.id)


def _erased_only(session: Session, obj: Observation, changed: set[str]) -> bool:
    """Whether every change is an allowed erasure of this observation."""
    if obj.id not in session.info.get(_ERASING, ()) or not changed <= ERASABLE_AFTER_SUBMISSION:
        return False
    return all(getattr(obj, name) in (None, "") for name in changed)


def _stored_state(obj: Observation) -> ObservationState | None:
    """The state in the database before this flush; None for an observation not yet stored."""
    state = inspect(obj)
    if not state.persistent and not state.deleted:
        return None
    history = state.attrs.state.history
    return history.deleted[0] if history.deleted else obj.state


def _locked(obj: Observation | None) -> bool:
    return obj is not None and _stored_state(obj) not in (None, ObservationState.DRAFT)


def _owners(session: Session, attachment: Attachment) -> list[Observation]:
    """Every observation the attachment belongs or belonged to in this flush (moving one
    away from a submitted observation is a change to that observation too)."""
    state = inspect(attachment)
    ids = set(state.attrs.observation_id.history.deleted) | {attachment.observation_id}
    ids |= {o.id for o in state.attrs.observation.history.deleted if o is not None}
    owners = [attachment.observation] if attachment.observation is not None else []
    with session.no_autoflush:
        owners += [session.get(Observation, i) for i in ids if i is not None]
    return [o for o in owners if o is not None]


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_submitted(session: Session, flush_context, instances) -> None:
    refused = _l("A submitted observation cannot be changed: send a correction instead.")
    for obj in session.dirty:
        if isinstance(obj, Observation) and _locked(obj) and session.is_modified(obj):
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
            content = changed - _MUTABLE_AFTER_SUBMISSION
            if content and not _erased_only(session, obj, content):
                raise ImmutableObservationError(refused)
            if "state" in changed and not (
                _stored_state(obj) is ObservationState.SUBMITTED
                and obj.state is ObservationState.WITHDRAWN
            ):  # the only change of state after submission is the withdrawal
                raise ImmutableObservationError(refused)
    for obj in session.deleted:
        if isinstance(obj, Observation) and _locked(obj):
            raise ImmutableObservationError(
                _l("A submitted observation is never deleted: it can be withdrawn.")
            )
        if isinstance(obj, Point):
            raise ObservationError(_l("A point is never deleted: it can be retired."))
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Attachment):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            if any(_locked(owner) for owner in _owners(session, obj)):
                raise ImmutableObservationError(refused)
