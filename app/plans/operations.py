"""What can happen to a plan and its texts. Functions here change state and write the audit
entry; they flush but never commit (the caller's request or command commits once)."""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.plans import importers, matching
from app.plans.models import (
    Audience,
    LineageKind,
    Paragraph,
    ParagraphLineage,
    Plan,
    PlanError,
    PlanImport,
    PlanVersion,
    PolicyArea,
    Section,
    VersionStatus,
)
from app.plans.text import clean_html, new_key, plain_text
from app.plans.tree import load_tree

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Imports left unconfirmed longer than this are removed when the next one starts.
IMPORT_TTL = timedelta(days=2)


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


# Plans -------------------------------------------------------------------------------------


def create_plan(
    session: Session,
    *,
    title: str,
    slug: str,
    owner: str,
    description: str = "",
    audience: Audience = Audience.PUBLIC,
    actor=None,
) -> Plan:
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise PlanError(
            _l("Use lower-case letters, digits and single hyphens for the address."), "slug"
        )
    if session.scalar(select(Plan.id).where(Plan.slug == slug)) is not None:
        raise PlanError(_l("Another plan already uses this address."), "slug")
    plan = Plan(
        title=title.strip(),
        slug=slug,
        owner=owner.strip(),
        description=description.strip(),
        audience=audience,
    )
    session.add(plan)
    session.flush()
    record(session, "plan.created", actor=actor, obj=plan, slug=slug)
    return plan


def update_plan(
    session: Session,
    plan: Plan,
    *,
    title: str,
    owner: str,
    description: str,
    audience: Audience,
    actor=None,
) -> None:
    changes = {}
    for name, value in (
        ("title", title.strip()),
        ("owner", owner.strip()),
        ("description", description.strip()),
        ("audience", audience),
    ):
        if getattr(plan, name) != value:
            changes[name] = [str(getattr(plan, name)), str(value)]
            setattr(plan, name, value)
    if changes:
        record(session, "plan.updated", actor=actor, obj=plan, changes=changes)
    session.flush()


# Building a version ------------------------------------------------------------------------


@dataclass
class ParagraphSpec:
    html: str
    text: str
    predecessors: list[Paragraph] = field(default_factory=list)


@dataclass
class SectionSpec:
    level: int
    number: str
    title: str
    policy_area: PolicyArea | None = None
    predecessor: Section | None = None
    paragraphs: list[ParagraphSpec] = field(default_factory=list)


def _latest_version(session: Session, plan: Plan) -> PlanVersion | None:
    return session.scalar(
        select(PlanVersion)
        .where(PlanVersion.plan_id == plan.id)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )


def check_can_continue(session: Session, version: PlanVersion) -> None:
    """A successor starts from the plan's latest version, once it is fixed."""
    latest = _latest_version(session, version.plan)
    if latest is not None and latest.id != version.id:
        raise PlanError(
            _l(
                "Only the latest version of a plan can be continued: start from %(label)s.",
                label=latest.label,
            )
        )
    if version.is_draft:
        raise PlanError(
            _l(
                "Freeze this version before starting the next one, so that the lineage between "
                "the two cannot change."
            )
        )


def _taken_keys(session: Session, plan: Plan, column) -> set[str]:
    """Every key ever used in the plan: a new key never points at an unrelated old text."""
    model = column.class_
    return set(
        session.scalars(
            select(column)
            .join(PlanVersion, model.version_id == PlanVersion.id)
            .where(PlanVersion.plan_id == plan.id)
        )
    )


def lineage_kinds(links: list[tuple[int | None, int | None, bool]]) -> list[LineageKind]:
    """The kind of each of a version's lineage rows, given as (predecessor id, successor id,
    same HTML): a row's kind depends on how many rows share its ends, so it is derived from all
    the rows of the version at once."""
    joined = [(pred, succ) for pred, succ, _same in links if pred is not None and succ is not None]
    successors_of = Counter(pred for pred, _succ in joined)
    predecessors_of = Counter(succ for _pred, succ in joined)
    kinds = []
    for pred, succ, same in links:
        if pred is None:
            kinds.append(LineageKind.ADDED)
        elif succ is None:
            kinds.append(LineageKind.REMOVED)
        elif predecessors_of[succ] > 1:
            kinds.append(LineageKind.MERGED)
        elif successors_of[pred] > 1:
            kinds.append(LineageKind.SPLIT)
        else:
            kinds.append(LineageKind.CARRIED if same else LineageKind.EDITED)
    return kinds


def _carry_key(predecessor, used: set[str], taken: set[str]) -> str:
    """The predecessor's key, so that permalinks survive; a new one if it is already used in
    this version (the second half of a split)."""
    key = predecessor.key if predecessor is not None else None
    if key is None or key in used:
        key = new_key(taken)
    used.add(key)
    return key


def build_version(
    session: Session,
    plan: Plan,
    *,
    label: str,
    predecessor: PlanVersion | None,
    specs: list[SectionSpec],
    actor=None,
    action: str = "plan.version_created",
    **details,
) -> PlanVersion:
    """A new draft version from a neutral structure, with its lineage to ``predecessor``.

    Both the copy of a version and an import come through here.
    """
    latest = _latest_version(session, plan)
    version = PlanVersion(
        plan=plan,
        number=(latest.number + 1) if latest else 1,
        label=label.strip(),
        predecessor=predecessor,
    )
    session.add(version)
    session.flush()
    paragraph_keys = _taken_keys(session, plan, Paragraph.key)
    section_keys = _taken_keys(session, plan, Section.key)
    used_paragraph_keys: set[str] = set()
    used_section_keys: set[str] = set()
    stack: list[tuple[int, Section]] = []
    counts: Counter = Counter()
    lineage: list[ParagraphLineage] = []
    for spec in specs:
        while stack and stack[-1][0] >= spec.level:
            stack.pop()
        parent = stack[-1][1] if stack else None
        section = Section(
            version_id=version.id,
            parent=parent,
            key=_carry_key(spec.predecessor, used_section_keys, section_keys),
            position=counts[id(parent)],
            number=spec.number.strip()[:20],
            title=spec.title.strip()[:500],
            policy_area=spec.policy_area,
            predecessor_id=spec.predecessor.id if spec.predecessor is not None else None,
        )
        counts[id(parent)] += 1
        session.add(section)
        stack.append((spec.level, section))
        for position, item in enumerate(spec.paragraphs):
            first = item.predecessors[0] if item.predecessors else None
            paragraph = Paragraph(
                version_id=version.id,
                section=section,
                key=_carry_key(first, used_paragraph_keys, paragraph_keys),
                position=position,
                html=item.html,
                text=item.text,
            )
            session.add(paragraph)
            sources = item.predecessors or [None]
            lineage.extend(
                ParagraphLineage(
                    version_id=version.id,
                    predecessor=source,
                    successor=paragraph,
                    kind=LineageKind.CARRIED,
                )
                for source in sources
            )
    session.flush()  # the new paragraphs get their ids, which the kinds are counted by
    if predecessor is not None:
        continued = {row.predecessor.id for row in lineage if row.predecessor is not None}
        lineage.extend(
            ParagraphLineage(
                version_id=version.id, predecessor=old, successor=None, kind=LineageKind.REMOVED
            )
            for _node, old in load_tree(session, predecessor).paragraphs()
            if old.id not in continued
        )
    links = [
        (
            row.predecessor.id if row.predecessor is not None else None,
            row.successor.id if row.successor is not None else None,
            row.predecessor is not None
            and row.successor is not None
            and row.predecessor.html == row.successor.html,
        )
        for row in lineage
    ]
    for row, kind in zip(lineage, lineage_kinds(links), strict=True):
        row.kind = kind
    session.add_all(lineage)
    session.flush()
    record(
        session,
        action,
        actor=actor,
        obj=version,
        plan_id=plan.id,
        number=version.number,
        sections=len(specs),
        paragraphs=sum(len(spec.paragraphs) for spec in specs),
        **details,
    )
    return version


def create_successor(session: Session, version: PlanVersion, *, label: str, actor=None):
    """The next draft: a copy of ``version`` in which every section and paragraph is carried."""
    check_can_continue(session, version)
    tree = load_tree(session, version)
    specs = [
        SectionSpec(
            level=node.depth,
            number=node.section.number,
            title=node.section.title,
            policy_area=node.section.policy_area,
            predecessor=node.section,
            paragraphs=[ParagraphSpec(p.html, p.text, [p]) for p in node.paragraphs],
        )
        for node in tree.walk()
    ]
    return build_version(
        session,
        version.plan,
        label=label,
        predecessor=version,
        specs=specs,
        actor=actor,
        action="plan.successor_created",
        source_version_id=version.id,
    )


def freeze_version(session: Session, version: PlanVersion, *, actor=None) -> None:
    version.freeze()
    record(session, "plan.version_frozen", actor=actor, obj=version)
    session.flush()


def adopt_version(session: Session, version: PlanVersion, *, actor=None) -> None:
    version.adopt()
    record(session, "plan.version_adopted", actor=actor, obj=version)
    session.flush()


# Import ------------------------------------------------------------------------------------


def start_import(
    session: Session,
    plan: Plan,
    *,
    data: bytes,
    filename: str,
    label: str,
    predecessor: PlanVersion | None,
    max_bytes: int,
    actor,
) -> PlanImport:
    """Parse an upload and keep it, with the proposed matches, for the editor's preview."""
    if len(data) > max_bytes:
        raise importers.ImportError_(
            _l(
                "The file is larger than %(mb)d MB: nothing was imported.",
                mb=max_bytes // (1024 * 1024),
            )
        )
    if predecessor is not None:
        check_can_continue(session, predecessor)
    file_format, sections = importers.parse(data)
    if predecessor is not None:
        matching.propose(sections, load_tree(session, predecessor))
    for stale in session.scalars(
        select(PlanImport).where(PlanImport.created_at < utcnow() - IMPORT_TTL)
    ):
        session.delete(stale)
    plan_import = PlanImport(
        plan=plan,
        predecessor=predecessor,
        created_by_id=actor.id,
        filename=(filename or "")[:255],
        file_format=file_format,
        label=label.strip(),
        structure={"sections": sections},
    )
    session.add(plan_import)
    session.flush()
    record(
        session,
        "plan.import_started",
        actor=actor,
        obj=plan,
        import_id=plan_import.id,
        format=file_format,
        filename=plan_import.filename,
    )
    return plan_import


def confirm_import(
    session: Session,
    plan_import: PlanImport,
    *,
    corrections: dict[str, str] | None = None,
    actor=None,
) -> PlanVersion:
    """Save the previewed structure as a new draft version.

    ``corrections`` maps ``s-<i>`` (section) and ``p-<i>-<j>`` (paragraph) to the predecessor
    keys chosen by the editor (comma-separated for a merge; empty for "new").
    """
    predecessor = plan_import.predecessor
    if predecessor is not None:
        check_can_continue(session, predecessor)
    sections = plan_import.structure["sections"]
    specs = []
    if predecessor is not None:
        tree = load_tree(session, predecessor)
        old_sections = {node.section.key: node.section for node in tree.walk()}
        old_paragraphs = {p.key: p for _node, p in tree.paragraphs()}
    corrections = corrections or {}
    for i, item in enumerate(sections):
        old_section = None
        paragraphs = []
        if predecessor is not None:
            key = corrections.get(f"s-{i}", item.get("match") or "")
            old_section = _lookup_keys(key, old_sections, single=True, what=item["title"])
            old_section = old_section[0] if old_section else None
        for j, para in enumerate(item["paragraphs"]):
            sources: list[Paragraph] = []
            if predecessor is not None:
                key = corrections.get(f"p-{i}-{j}", ",".join(para.get("match") or []))
                sources = _lookup_keys(key, old_paragraphs, single=False, what=para["text"])
            paragraphs.append(ParagraphSpec(para["html"], para["text"], sources))
        specs.append(
            SectionSpec(item["level"], item["number"], item["title"], None, old_section, paragraphs)
        )
    if predecessor is not None:
        for spec in specs:
            if spec.predecessor is not None and spec.predecessor.policy_area is not None:
                spec.policy_area = spec.predecessor.policy_area
    version = build_version(
        session,
        plan_import.plan,
        label=plan_import.label,
        predecessor=predecessor,
        specs=specs,
        actor=actor,
        action="plan.version_imported",
        format=plan_import.file_format,
        filename=plan_import.filename,
    )
    session.delete(plan_import)
    session.flush()
    return version


def _lookup_keys(raw: str, known: dict, *, single: bool, what: str) -> list:
    keys = [k.strip().removeprefix("p-").removeprefix("s-") for k in raw.split(",") if k.strip()]
    if single and len(keys) > 1:
        raise PlanError(_l("A section continues at most one section (%(what)s).", what=what[:60]))
    missing = [k for k in keys if k not in known]
    if missing:
        raise PlanError(
            _l(
                "There is no “%(key)s” in the previous version (for “%(what)s”).",
                key=missing[0],
                what=what[:60],
            )
        )
    return [known[k] for k in dict.fromkeys(keys)]


def cancel_import(session: Session, plan_import: PlanImport, *, actor=None) -> None:
    record(
        session,
        "plan.import_cancelled",
        actor=actor,
        obj=plan_import.plan,
        import_id=plan_import.id,
    )
    session.delete(plan_import)
    session.flush()


# Editing a draft ---------------------------------------------------------------------------


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
        changes={k: [str(a), str(b)] for k, (a, b) in changes.items()},
    )


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
