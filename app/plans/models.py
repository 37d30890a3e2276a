"""Plans, their versions, the section tree and the paragraphs, with explicit lineage.

Identity is what the later domains lean on:

- a paragraph's ``key`` is unique within its version and carried over to its successor, so a
  permalink (``#p-4f2a9c``) survives versions;
- every change between a version and its predecessor is a :class:`ParagraphLineage` row with a
  stable id: a paragraph carried over, edited, split (one predecessor, several successors),
  merged (several predecessors, one successor), added (no predecessor) or removed (no
  successor). Observations anchored on the draft follow these rows into the final text, and
  decisions link to them.

A version is immutable once frozen: :func:`_refuse_changes_to_fixed_versions` refuses, at flush
time, any insert, update or delete of the sections, paragraphs and lineage of a version that is
not a draft, whoever asks.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.db import Base, UTCDateTime, enum_type, utcnow


class PlanError(ValueError):
    """A refusal to show the user as it is (the message is translatable)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class FrozenVersionError(PlanError):
    """A change to the text of a version that is no longer a draft."""


class Audience(enum.StrEnum):
    """Who may read the frozen and adopted versions of a plan (drafts: staff only)."""

    PUBLIC = "public"
    REGISTERED = "registered"
    STAFF = "staff"


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    FROZEN = "frozen"
    ADOPTED = "adopted"


class PolicyArea(enum.StrEnum):
    """The six *ambiti di policy* of the Piano Strategico Metropolitano."""

    AGILE = "agile"
    CREATIVA = "creativa"
    ATTRATTIVA = "attrattiva"
    INTELLIGENTE = "intelligente"
    VELOCE = "veloce"
    COESA = "coesa"


class LineageKind(enum.StrEnum):
    CARRIED = "carried"
    EDITED = "edited"
    SPLIT = "split"
    MERGED = "merged"
    ADDED = "added"
    REMOVED = "removed"


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (CheckConstraint("slug <> ''", name="slug_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The body that owns the plan, e.g. "Città metropolitana di Milano".
    owner: Mapped[str] = mapped_column(String(200))
    audience: Mapped[Audience] = mapped_column(
        enum_type(Audience, "audience"), default=Audience.PUBLIC
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", order_by="PlanVersion.number"
    )

    def __repr__(self) -> str:
        return f"<Plan {self.slug}>"


class PlanVersion(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("(status = 'draft') = (frozen_at IS NULL)", name="frozen_at_iff_not_draft"),
        CheckConstraint(
            "(status = 'adopted') = (adopted_at IS NOT NULL)", name="adopted_at_iff_adopted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    #: Shown to readers, e.g. "Bozza 2019" or "Testo approvato".
    label: Mapped[str] = mapped_column(String(200))
    status: Mapped[VersionStatus] = mapped_column(
        enum_type(VersionStatus, "status"), default=VersionStatus.DRAFT
    )
    #: The version this one was created from; its sections and paragraphs are the lineage's
    #: predecessors.
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(back_populates="versions")
    predecessor: Mapped[PlanVersion | None] = relationship(remote_side=[id])

    @property
    def is_draft(self) -> bool:
        return self.status is VersionStatus.DRAFT

    def freeze(self) -> None:
        """Fix the text (a consultation round opens on a frozen version)."""
        if self.status is not VersionStatus.DRAFT:
            raise PlanError(_l("Only a draft version can be frozen."))
        self.status = VersionStatus.FROZEN
        self.frozen_at = utcnow()

    def adopt(self) -> None:
        """Mark a frozen version as the adopted text (e.g. approved by the council)."""
        if self.status is not VersionStatus.FROZEN:
            raise PlanError(_l("Only a frozen version can be adopted."))
        self.status = VersionStatus.ADOPTED
        self.adopted_at = utcnow()

    def __repr__(self) -> str:
        return f"<PlanVersion {self.plan_id}#{self.number} {self.status}>"


class Section(Base):
    __tablename__ = "plan_sections"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("parent_id <> id", name="not_own_parent"),
        Index("ix_plan_sections_version_order", "version_id", "parent_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plan_sections.id"), index=True)
    #: Stable within the version and carried over to the successor (URLs use it).
    key: Mapped[str] = mapped_column(String(16))
    #: Order among the siblings.
    position: Mapped[int] = mapped_column(Integer)
    #: The number shown, such as "2.3" (may be empty).
    number: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(500))
    policy_area: Mapped[PolicyArea | None] = mapped_column(enum_type(PolicyArea, "policy_area"))
    #: The section of the previous version this one continues (None: new in this version).
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("plan_sections.id"), index=True)
    #: Optimistic lock: bumped on every change, compared with what the editor saw.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version, "version_id_generator": False}

    version: Mapped[PlanVersion] = relationship()
    parent: Mapped[Section | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    def __repr__(self) -> str:
        return f"<Section {self.key} {self.number} {self.title[:30]!r}>"


class Paragraph(Base):
    __tablename__ = "plan_paragraphs"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("ix_plan_paragraphs_section_order", "section_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Denormalised from the section: keys are unique per version, and the reading view loads a
    #: version's paragraphs in one query.
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("plan_sections.id"))
    #: Stable anchor (``#p-<key>``), carried over to the successor version.
    key: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    #: Cleaned HTML (nh3, small allow-list).
    html: Mapped[str] = mapped_column(Text)
    #: Plain text of ``html``, for diffs, search and matching quoted passages.
    text: Mapped[str] = mapped_column(Text)
    #: Optimistic lock: bumped on every change, compared with what the editor saw.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version, "version_id_generator": False}

    section: Mapped[Section] = relationship()

    def __repr__(self) -> str:
        return f"<Paragraph {self.key} {self.text[:30]!r}>"


class ParagraphLineage(Base):
    """One change between a version and its predecessor, with a stable id.

    ``version_id`` is the successor version (the one the change belongs to). Carried and edited
    rows link one paragraph to one; a split has one row per successor, a merge one row per
    predecessor; an added paragraph has no predecessor and a removed one no successor.
    """

    __tablename__ = "paragraph_lineage"
    __table_args__ = (
        UniqueConstraint("predecessor_id", "successor_id"),
        CheckConstraint(
            "predecessor_id IS NOT NULL OR successor_id IS NOT NULL", name="links_something"
        ),
        CheckConstraint(
            "(kind = 'added') = (predecessor_id IS NULL)", name="added_iff_no_predecessor"
        ),
        CheckConstraint(
            "(kind = 'removed') = (successor_id IS NULL)", name="removed_iff_no_successor"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("plan_paragraphs.id"), index=True)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("plan_paragraphs.id"), index=True)
    kind: Mapped[LineageKind] = mapped_column(enum_type(LineageKind, "kind"))

    predecessor: Mapped[Paragraph | None] = relationship(foreign_keys=[predecessor_id])
    successor: Mapped[Paragraph | None] = relationship(foreign_keys=[successor_id])

    def __repr__(self) -> str:
        return (
            f"<ParagraphLineage {self.id} {self.kind} {self.predecessor_id}->{self.successor_id}>"
        )


class PlanImport(Base):
    """A parsed upload waiting for the editor to confirm it (preview, then save or cancel)."""

    __tablename__ = "plan_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    #: The version the import continues (None: the plan's first text).
    predecessor_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE")
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(200))
    #: The parsed tree, and the proposed matches to the predecessor (see plans.importers).
    structure: Mapped[dict[str, Any]] = mapped_column(JSON)

    plan: Mapped[Plan] = relationship()
    predecessor: Mapped[PlanVersion | None] = relationship()


# Immutability of versions that are not drafts ----------------------------------------------

_TEXT_CLASSES = (Section, Paragraph, ParagraphLineage)


def _version_id_of(obj) -> int | None:
    """The version an object belongs to, or belonged to before this flush (an update must not
    move an object out of a fixed version either)."""
    state = inspect(obj)
    if state.persistent or state.deleted:
        history = state.attrs.version_id.history
        if history.deleted:
            return history.deleted[0]
    return obj.version_id


def _stored_status(session: Session, version_id: int, cache: dict) -> VersionStatus | None:
    """The status in the database (not the one about to be written), without autoflushing."""
    if version_id not in cache:
        value = session.connection().scalar(
            select(PlanVersion.status).where(PlanVersion.id == version_id)
        )
        cache[version_id] = value
    return cache[version_id]


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_fixed_versions(session: Session, flush_context, instances) -> None:
    cache: dict = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, _TEXT_CLASSES):
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        version_id = _version_id_of(obj)
        if version_id is None:
            continue
        stored = _stored_status(session, version_id, cache)
        current = session.identity_map.get(
            inspect(PlanVersion).identity_key_from_primary_key((version_id,))
        )
        # Freezing and editing in the same flush is refused too: both states must be drafts.
        statuses = {stored, current.status if current is not None else stored}
        if statuses - {VersionStatus.DRAFT, None}:
            raise FrozenVersionError(
                _l("This version is frozen: its text can no longer be changed.")
            )
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, PlanVersion):
            _check_version_change(session, obj, _stored_status(session, obj.id, cache))


def _check_version_change(
    session: Session, version: PlanVersion, previous: VersionStatus | None
) -> None:
    if version in session.deleted:
        if previous is not VersionStatus.DRAFT:
            raise FrozenVersionError(_l("A frozen or adopted version cannot be deleted."))
        return
    allowed = {
        (VersionStatus.DRAFT, VersionStatus.FROZEN),
        (VersionStatus.DRAFT, VersionStatus.ADOPTED),  # frozen then adopted in one flush
        (VersionStatus.FROZEN, VersionStatus.ADOPTED),
    }
    if previous != version.status and (previous, version.status) not in allowed:
        raise FrozenVersionError(_l("This change of state is not allowed."))
    if previous is not VersionStatus.DRAFT:
        state = inspect(version)
        for name in ("plan_id", "number", "predecessor_id", "frozen_at"):
            if state.attrs[name].history.has_changes():
                raise FrozenVersionError(
                    _l("This version is frozen: its text can no longer be changed.")
                )


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_text_changes(state) -> None:
    """Bulk UPDATE/DELETE would bypass the flush check: text changes go through the unit of
    work."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in _TEXT_CLASSES for mapper in state.all_mappers
    ):
        raise FrozenVersionError(_l("Plan texts are changed one object at a time."))
