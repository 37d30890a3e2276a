"""Editing a draft version: paragraphs and sections, under optimistic locks, with the lineage
kinds kept current."""

from __future__ import annotations

import functools
import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from app.core.audit import changes as audit_changes
from app.core.audit import record
from app.core.i18n import lazy_gettext as _l
from app.plans.changes import sync_changes
from app.plans.models import (
    LineageKind,
    Paragraph,
    ParagraphLineage,
    PlanError,
    PlanVersion,
    PolicyArea,
    Section,
    VersionStatus,
)
from app.plans.operations.versions import _taken_keys, lineage_kinds
from app.plans.text import clean_html, new_key, plain_text


class ConflictError(PlanError):
    """Someone else saved the same object since the editor opened it."""


def _ensure_draft(version: PlanVersion) -> None:
    if version.status is VersionStatus.FROZEN:
        raise PlanError(
            _l(
                "This version is frozen: its text can no longer be changed. Start a new version "
                "to make changes."
            )
        )
    if version.status is VersionStatus.ADOPTED:
        raise PlanError(
            _l(
                "This version is adopted: its text can no longer be changed. Start a new version "
                "to make changes."
            )
        )


def _check_lock(obj: Section | Paragraph, seen: int | None) -> None:
    """``seen`` is the lock_version the editor's page showed; None (a form without it, or a
    garbled one) cannot prove the editor saw the current text, so it is a conflict too."""
    if seen is None:
        raise ConflictError(
            _l(
                "We cannot tell which saved version of this text you started from (the page may "
                "be out of date), so nothing was saved. Check the current text and try again."
            )
        )
    if seen != obj.lock_version:
        raise ConflictError(
            _l(
                "Someone else saved this text while you were editing it. Your text was not "
                "saved: it is shown below beside the current one, so that you can merge the two."
            )
        )


def _conflicts_refused(operation):
    """Turn a write that meets a newer save (a lock version changed, or a row deleted, by
    another request), at any flush of the operation including autoflushes, into a
    :class:`ConflictError`."""

    @functools.wraps(operation)
    def guarded(*args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except (StaleDataError, ObjectDeletedError):
            raise ConflictError(
                _l("Someone else changed this text at the same moment. Your change was not saved.")
            ) from None

    return guarded


def _clean_paragraph(html: str) -> tuple[str, str]:
    cleaned = clean_html(html)
    text = plain_text(cleaned)
    if not text:
        raise PlanError(_l("A paragraph cannot be empty: delete it instead."), "html")
    return cleaned, text


def _rows_touching(session: Session, version: PlanVersion, paragraph_ids: set[int]):
    """The version's lineage rows around these paragraphs (as successors or siblings)."""
    if not paragraph_ids:
        return []
    first = session.scalars(
        select(ParagraphLineage).where(
            ParagraphLineage.version_id == version.id,
            ParagraphLineage.successor_id.in_(paragraph_ids),
        )
    ).all()
    predecessors = {row.predecessor_id for row in first if row.predecessor_id is not None}
    if not predecessors:
        return list(first)
    return session.scalars(
        select(ParagraphLineage).where(
            ParagraphLineage.version_id == version.id,
            or_(
                ParagraphLineage.successor_id.in_(paragraph_ids),
                ParagraphLineage.predecessor_id.in_(predecessors),
            ),
        )
    ).all()


def _refresh_kinds(session: Session, version: PlanVersion, edited: Paragraph | None = None) -> None:
    """Give the version's lineage rows the kinds their links now call for.

    After a split, a merge or a deletion, a row's kind can change far from the paragraph
    concerned (it depends on how many rows share each of its ends), so every row of the version
    is counted. After a text edit (``edited``), the counts stay the same and only that
    paragraph's rows can change (carried or edited): they are counted with every row of their
    predecessors. One query for the links, one more to load the rows whose kind changes, if
    any."""
    session.flush()
    old, new = aliased(Paragraph), aliased(Paragraph)
    query = (
        select(
            ParagraphLineage.id,
            ParagraphLineage.predecessor_id,
            ParagraphLineage.successor_id,
            ParagraphLineage.kind,
            old.html == new.html,
        )
        .outerjoin(old, old.id == ParagraphLineage.predecessor_id)
        .outerjoin(new, new.id == ParagraphLineage.successor_id)
        .where(ParagraphLineage.version_id == version.id)
    )
    if edited is not None:
        sources = select(ParagraphLineage.predecessor_id).where(
            ParagraphLineage.successor_id == edited.id
        )
        query = query.where(
            or_(
                ParagraphLineage.successor_id == edited.id,
                ParagraphLineage.predecessor_id.in_(sources.scalar_subquery()),
            )
        )
    rows = session.execute(query).all()
    kinds = lineage_kinds([(pred, succ, bool(same)) for _id, pred, succ, _kind, same in rows])
    changed = {
        row_id: kind
        for (row_id, _pred, succ, stored, _same), kind in zip(rows, kinds, strict=True)
        if stored != kind and (edited is None or succ == edited.id)
    }
    if changed:
        for row in session.scalars(
            select(ParagraphLineage).where(ParagraphLineage.id.in_(changed))
        ):
            row.kind = changed[row.id]


def _siblings(session: Session, section: Section) -> list[Paragraph]:
    return list(
        session.scalars(
            select(Paragraph)
            .where(Paragraph.section_id == section.id)
            .order_by(Paragraph.position, Paragraph.id)
        )
    )


def _renumber(items: list) -> None:
    for position, item in enumerate(items):
        if item.position != position:
            item.position = position


@_conflicts_refused
def update_paragraph(
    session: Session, paragraph: Paragraph, *, html: str, seen_lock: int | None, actor=None
) -> None:
    version = paragraph.section.version
    _ensure_draft(version)
    _check_lock(paragraph, seen_lock)
    cleaned, text = _clean_paragraph(html)
    if cleaned == paragraph.html:
        return
    paragraph.html, paragraph.text = cleaned, text
    paragraph.lock_version += 1
    _refresh_kinds(session, version, edited=paragraph)
    record(session, "plan.paragraph_edited", actor=actor, obj=paragraph, key=paragraph.key)
    session.flush()
    sync_changes(session, version)


def _new_paragraph(session: Session, section: Section, html: str, text: str) -> Paragraph:
    taken = _taken_keys(session, section.version.plan, Paragraph.key)
    return Paragraph(
        version_id=section.version_id, section=section, key=new_key(taken), html=html, text=text
    )


@_conflicts_refused
def add_paragraph(
    session: Session, section: Section, *, html: str, after: Paragraph | None, actor=None
) -> Paragraph:
    """A new paragraph after ``after`` (None: at the start of the section)."""
    _ensure_draft(section.version)
    cleaned, text = _clean_paragraph(html)
    siblings = _siblings(session, section)
    paragraph = _new_paragraph(session, section, cleaned, text)
    index = siblings.index(after) + 1 if after is not None else 0
    siblings.insert(index, paragraph)
    paragraph.position = index
    _renumber(siblings)
    session.add(paragraph)
    session.add(
        ParagraphLineage(
            version_id=section.version_id,
            predecessor=None,
            successor=paragraph,
            kind=LineageKind.ADDED,
        )
    )
    session.flush()
    record(session, "plan.paragraph_added", actor=actor, obj=paragraph, key=paragraph.key)
    sync_changes(session, section.version)
    return paragraph


def _detach(session: Session, paragraph: Paragraph) -> None:
    """Remove a paragraph's incoming lineage; a predecessor left with no successor is recorded
    as removed."""
    version = paragraph.section.version
    rows = _rows_touching(session, version, {paragraph.id})
    own = [row for row in rows if row.successor_id == paragraph.id]
    for row in own:
        others = [
            r
            for r in rows
            if r.predecessor_id == row.predecessor_id and r.successor_id != paragraph.id
        ]
        if row.predecessor_id is not None and not others:
            row.successor = None
            row.kind = LineageKind.REMOVED
        else:
            session.delete(row)


@_conflicts_refused
def delete_paragraph(session: Session, paragraph: Paragraph, *, actor=None) -> None:
    section = paragraph.section
    _ensure_draft(section.version)
    _detach(session, paragraph)
    session.flush()
    siblings = [p for p in _siblings(session, section) if p.id != paragraph.id]
    record(session, "plan.paragraph_deleted", actor=actor, obj=paragraph, key=paragraph.key)
    session.delete(paragraph)
    session.flush()
    _renumber(siblings)
    _refresh_kinds(session, section.version)
    session.flush()
    sync_changes(session, section.version)


@_conflicts_refused
def move_paragraph(
    session: Session,
    paragraph: Paragraph,
    *,
    offset: int = 0,
    to_section: Section | None = None,
    actor=None,
) -> None:
    """Move up (-1) or down (+1) within the section, or to the end of another section."""
    section = paragraph.section
    _ensure_draft(section.version)
    siblings = _siblings(session, section)
    if to_section is not None and to_section.id != section.id:
        if to_section.version_id != section.version_id:
            raise PlanError(_l("A paragraph can only move within its version."))
        position = len(_siblings(session, to_section))  # before the paragraph is among them
        siblings.remove(paragraph)
        _renumber(siblings)
        paragraph.section = to_section
        paragraph.position = position
    else:
        index = siblings.index(paragraph)
        target = index + offset
        if not 0 <= target < len(siblings) or offset == 0:
            return
        siblings.insert(target, siblings.pop(index))
        _renumber(siblings)
    session.flush()
    record(
        session,
        "plan.paragraph_moved",
        actor=actor,
        obj=paragraph,
        key=paragraph.key,
        section=paragraph.section.key,
    )
    sync_changes(session, section.version)


SPLIT_MARK = re.compile(r"^\s*-{3,}\s*$", re.MULTILINE)


@_conflicts_refused
def split_paragraph(
    session: Session, paragraph: Paragraph, *, parts: list[str], seen_lock: int | None, actor=None
) -> list[Paragraph]:
    """Cut a paragraph into several: the first keeps its key, the others are new, and every
    part continues the paragraph's predecessors (a split in the lineage)."""
    section = paragraph.section
    version = section.version
    _ensure_draft(version)
    _check_lock(paragraph, seen_lock)
    cleaned = [_clean_paragraph(part) for part in parts if plain_text(clean_html(part))]
    if len(cleaned) < 2:
        raise PlanError(
            _l("Mark where to split with a line of three hyphens (---) between the parts."),
            "html",
        )
    sources = [
        row.predecessor
        for row in _rows_touching(session, version, {paragraph.id})
        if row.successor_id == paragraph.id
    ]
    paragraph.html, paragraph.text = cleaned[0]
    paragraph.lock_version += 1
    siblings = _siblings(session, section)
    index = siblings.index(paragraph)
    created = []
    for offset, (html, text) in enumerate(cleaned[1:], start=1):
        new = _new_paragraph(session, section, html, text)
        siblings.insert(index + offset, new)
        session.add(new)
        created.append(new)
        for source in sources or [None]:
            session.add(
                ParagraphLineage(
                    version_id=version.id,
                    predecessor=source,
                    successor=new,
                    kind=LineageKind.ADDED if source is None else LineageKind.SPLIT,
                )
            )
    _renumber(siblings)
    session.flush()
    _refresh_kinds(session, version)
    record(
        session,
        "plan.paragraph_split",
        actor=actor,
        obj=paragraph,
        key=paragraph.key,
        into=[paragraph.key, *(p.key for p in created)],
    )
    session.flush()
    sync_changes(session, version)
    return [paragraph, *created]


@_conflicts_refused
def merge_with_next(
    session: Session,
    paragraph: Paragraph,
    *,
    seen_lock: int | None,
    next_key: str | None,
    next_lock: int | None,
    actor=None,
) -> Paragraph:
    """Join a paragraph and the one after it; the merged one continues both lineages.

    The editor saw ``paragraph`` at ``seen_lock`` followed by ``next_key`` at ``next_lock``:
    if either changed, or another paragraph now follows, nothing is merged."""
    section = paragraph.section
    version = section.version
    _ensure_draft(version)
    siblings = _siblings(session, section)
    index = siblings.index(paragraph)
    if index + 1 >= len(siblings):
        raise PlanError(_l("This is the last paragraph of its section: there is none to merge."))
    following = siblings[index + 1]
    _check_lock(paragraph, seen_lock)
    if next_key is not None and following.key != next_key:
        raise ConflictError(
            _l(
                "The paragraphs of this section changed since you opened the page: nothing was "
                "merged. Check them and try again."
            )
        )
    _check_lock(following, next_lock if next_key is not None else None)
    rows = _rows_touching(session, version, {paragraph.id, following.id})
    own_sources = {r.predecessor_id for r in rows if r.successor_id == paragraph.id}
    their_sources = {r.predecessor_id for r in rows if r.successor_id == following.id}
    for row in [r for r in rows if r.successor_id == following.id]:
        if row.predecessor_id is None or row.predecessor_id in own_sources:
            session.delete(row)
        else:
            row.successor = paragraph
    paragraph.html = f"{paragraph.html} {following.html}"
    paragraph.text = f"{paragraph.text} {following.text}"
    paragraph.lock_version += 1
    session.flush()
    if (own_sources | their_sources) - {None}:
        for row in [r for r in rows if r.successor_id == paragraph.id and r.predecessor is None]:
            session.delete(row)  # "added" no longer: the merged paragraph has a predecessor
    record(
        session,
        "plan.paragraphs_merged",
        actor=actor,
        obj=paragraph,
        key=paragraph.key,
        merged=following.key,
    )
    session.delete(following)
    session.flush()
    _renumber([p for p in siblings if p.id != following.id])
    _refresh_kinds(session, version)
    session.flush()
    sync_changes(session, version)
    return paragraph


# Sections ----------------------------------------------------------------------------------


@_conflicts_refused
def update_section(
    session: Session,
    section: Section,
    *,
    number: str,
    title: str,
    policy_area: PolicyArea | None,
    seen_lock: int | None,
    actor=None,
) -> None:
    _ensure_draft(section.version)
    _check_lock(section, seen_lock)
    title = title.strip()
    if not title:
        raise PlanError(_l("A section needs a title."), "title")
    changes = {}
    for name, value in (("number", number.strip()), ("title", title), ("policy_area", policy_area)):
        if getattr(section, name) != value:
            changes[name] = [getattr(section, name), value]
            setattr(section, name, value)
    if not changes:
        return
    section.lock_version += 1
    session.flush()
    record(
        session,
        "plan.section_updated",
        actor=actor,
        obj=section,
        key=section.key,
        **audit_changes(
            {k: [str(a), str(b)] for k, (a, b) in changes.items()},
            values_of={"policy_area"},
        ),
    )
    sync_changes(session, section.version)


def _child_sections(session: Session, version: PlanVersion, parent: Section | None):
    query = select(Section).where(Section.version_id == version.id)
    query = query.where(
        Section.parent_id.is_(None) if parent is None else Section.parent_id == parent.id
    )
    return list(session.scalars(query.order_by(Section.position, Section.id)))


@_conflicts_refused
def add_section(
    session: Session,
    version: PlanVersion,
    *,
    parent: Section | None,
    number: str,
    title: str,
    policy_area: PolicyArea | None = None,
    actor=None,
) -> Section:
    _ensure_draft(version)
    if not title.strip():
        raise PlanError(_l("A section needs a title."), "title")
    if parent is not None and parent.version_id != version.id:
        raise PlanError(_l("The parent section belongs to another version."))
    taken = _taken_keys(session, version.plan, Section.key)
    section = Section(
        version_id=version.id,
        parent=parent,
        key=new_key(taken),
        position=len(_child_sections(session, version, parent)),
        number=number.strip(),
        title=title.strip(),
        policy_area=policy_area,
    )
    session.add(section)
    session.flush()
    record(session, "plan.section_added", actor=actor, obj=section, key=section.key)
    sync_changes(session, version)
    return section


@_conflicts_refused
def move_section(session: Session, section: Section, *, offset: int, actor=None) -> None:
    _ensure_draft(section.version)
    siblings = _child_sections(session, section.version, section.parent)
    index = siblings.index(section)
    target = index + offset
    if offset == 0 or not 0 <= target < len(siblings):
        return
    siblings.insert(target, siblings.pop(index))
    _renumber(siblings)
    session.flush()
    record(session, "plan.section_moved", actor=actor, obj=section, key=section.key)
    sync_changes(session, section.version)


@_conflicts_refused
def delete_section(session: Session, section: Section, *, actor=None) -> None:
    version = section.version
    _ensure_draft(version)
    has_paragraphs = session.scalar(
        select(func.count(Paragraph.id)).where(Paragraph.section_id == section.id)
    )
    if has_paragraphs or _child_sections(session, version, section):
        raise PlanError(
            _l(
                "Only an empty section can be deleted: move or delete its paragraphs and "
                "subsections first."
            )
        )
    siblings = [s for s in _child_sections(session, version, section.parent) if s.id != section.id]
    record(session, "plan.section_deleted", actor=actor, obj=section, key=section.key)
    session.delete(section)
    session.flush()
    _renumber(siblings)
    session.flush()
    sync_changes(session, version)
