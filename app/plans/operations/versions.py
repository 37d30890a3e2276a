"""Plans and their versions: creating a plan, building a version from specs (imports and
successors alike), and a version's life cycle (draft, frozen, adopted)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import changes as audit_changes
from app.core.audit import record
from app.core.i18n import lazy_gettext as _l
from app.plans.changes import sync_changes
from app.plans.models import (
    Audience,
    LineageKind,
    Paragraph,
    ParagraphLineage,
    Plan,
    PlanError,
    PlanVersion,
    PolicyArea,
    Section,
)
from app.plans.text import new_key
from app.plans.tree import load_tree

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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
        record(
            session,
            "plan.updated",
            actor=actor,
            obj=plan,
            **audit_changes(changes, values_of={"audience"}),
        )
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
            ),
            "predecessor",
        )
    if version.is_draft:
        raise PlanError(
            _l(
                "Freeze this version before starting the next one, so that the lineage between "
                "the two cannot change."
            ),
            "predecessor",
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
    sync_changes(session, version)
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
