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
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship
from sqlalchemy.sql.util import find_tables

from app.core.db import Base, UTCDateTime, enum_type, utcnow
from app.core.i18n import lazy_gettext as _l


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
_TEXT_TABLES = {"plan_sections", "plan_paragraphs", "paragraph_lineage"}
_FROZEN_TEXT = _l("This version is frozen: its text can no longer be changed.")
#: Where a flush keeps the statuses it has read (``session.info``), reset by each flush.
_CACHE = "plans.stored_status"


def _changed(state, name: str) -> list:
    """The values an attribute had before this flush and has now, when it changed."""
    history = state.attrs[name].history
    return [*history.added, *history.deleted] if history.has_changes() else []


def _version_refs(obj, state) -> tuple[set, set[int]]:
    """What tells which versions an object belongs to, or belonged to before this flush: the
    versions (ids, or objects not yet flushed) and the ids of sections whose version counts.

    An update must not move an object into or out of a fixed version either, whether through
    the column or the relationship."""
    versions: set = {obj.version_id, *_changed(state, "version_id")}
    sections: set[int] = set()
    if isinstance(obj, Section):
        versions.update(_changed(state, "version"))
    elif isinstance(obj, Paragraph):
        for section in _changed(state, "section"):
            if section is not None:
                versions.update({section.version_id, section.__dict__.get("version")})
        sections.update(_changed(state, "section_id"))
    versions.discard(None)
    sections.discard(None)
    return versions, sections


def _stored_statuses(session: Session, connection, version_ids, section_ids) -> set:
    """The statuses stored for these versions and for these sections' versions, read without
    autoflushing and once per flush."""
    cache = session.info.setdefault(_CACHE, _new_cache())
    missing = [i for i in section_ids if i not in cache["section"]]
    if missing:
        for section_id, version_id in connection.execute(
            select(Section.id, Section.version_id).where(Section.id.in_(missing))
        ):
            cache["section"][section_id] = version_id
    ids = set(version_ids) | {cache["section"].get(i) for i in section_ids} - {None}
    missing = [i for i in ids if i not in cache["version"]]
    if missing:
        found = dict(
            connection.execute(
                select(PlanVersion.id, PlanVersion.status).where(PlanVersion.id.in_(missing))
            ).all()
        )
        for version_id in missing:
            cache["version"][version_id] = found.get(version_id)
    return {cache["version"][i] for i in ids}, ids


def _new_cache() -> dict:
    return {"version": {}, "section": {}, "checked": set()}


def _refuse_if_fixed(session: Session, connection, obj) -> None:
    """Refuse when a version the object is or was in is not a draft, as stored or as it is
    about to be written (freezing and editing in the same flush is refused too)."""
    refs, section_ids = _version_refs(obj, inspect(obj))
    checked = session.info.setdefault(_CACHE, _new_cache())["checked"]
    seen = (frozenset(refs), frozenset(section_ids))
    if seen in checked:  # the other rows of a version built or edited in this flush
        return
    objects = {ref for ref in refs if isinstance(ref, PlanVersion)}
    ids = {ref for ref in refs if isinstance(ref, int)} | {v.id for v in objects if v.id}
    statuses, all_ids = _stored_statuses(session, connection, ids, section_ids)
    for version_id in all_ids:
        current = session.identity_map.get(
            inspect(PlanVersion).identity_key_from_primary_key((version_id,))
        )
        if current is not None:
            objects.add(current)
    statuses |= {version.status for version in objects}
    if statuses - {VersionStatus.DRAFT, None}:
        raise FrozenVersionError(_FROZEN_TEXT)
    checked.add(seen)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_fixed_versions(session: Session, flush_context, instances) -> None:
    session.info[_CACHE] = _new_cache()
    connection = session.connection()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, _TEXT_CLASSES):
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        _refuse_if_fixed(session, connection, obj)
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, PlanVersion):
            previous, _ids = _stored_statuses(session, connection, {obj.id}, ())
            _check_version_change(session, obj, next(iter(previous)))


def _refuse_row_of_fixed_version(mapper, connection, target) -> None:
    """The same check as each row is written, with its foreign keys set: it also sees changes
    made during the flush, after the ``before_flush`` check ran."""
    session = object_session(target)
    if session is not None:
        _refuse_if_fixed(session, connection, target)


for _class in _TEXT_CLASSES:
    for _name in ("before_insert", "before_update", "before_delete"):
        event.listen(_class, _name, _refuse_row_of_fixed_version)


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
    """Bulk INSERT/UPDATE/DELETE statements would bypass the flush check, whether written on
    the models or on their tables: text changes go through the unit of work. (What goes around
    the session altogether, the database's triggers refuse.)"""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    target = getattr(state.statement, "table", state.statement)  # from_statement(update(…))
    tables = {table.name for table in find_tables(target, include_aliases=True)}
    if tables & _TEXT_TABLES or any(m.class_ in _TEXT_CLASSES for m in state.all_mappers):
        raise FrozenVersionError(_l("Plan texts are changed one object at a time."))
