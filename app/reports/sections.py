"""The report by section: for a section of the consulted version, its text then and in the
response version, every stored change that touches it with the points that motivated it (or
"editorial" and its note), and the points anchored there that led to no change.

The index counts points and changes per section in two aggregate statements; a section's page
costs a fixed number of statements whatever the number of its points and changes (asserted in
``tests/reports/test_sections.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.decisions.links import DecisionLink, TracedChange, shown_changes
from app.decisions.models import Decision, DecisionState
from app.decisions.queries import decidable_points, published_decisions
from app.moderation import publication
from app.observations.models import Observation, Point
from app.plans.changes import (
    Annotation,
    ChangeSide,
    TextChange,
    TextChangeParagraph,
    annotations,
)
from app.plans.frozen import frozen_tree
from app.plans.models import Paragraph, Section
from app.plans.tree import Node
from app.rounds.models import Round

#: Points without a change listed on a section's page (the report by observation, filtered by
#: the section, lists them all).
POINTS_SHOWN = 300


def _response_sections(round_: Round, section_ids):
    """The response version's sections that continue these consulted ones."""
    return select(Section.id).where(
        Section.version_id == round_.response_version_id, Section.predecessor_id.in_(section_ids)
    )


def _touching(round_: Round, section_ids):
    """The ids of the response version's current changes that touch these sections: on their
    consulted paragraphs, on the paragraphs of the sections that continue them, or on the
    sections themselves."""
    old = select(Paragraph.id).where(Paragraph.section_id.in_(section_ids))
    new = select(Paragraph.id).where(
        Paragraph.section_id.in_(_response_sections(round_, section_ids))
    )
    rows = select(TextChangeParagraph.change_id).where(
        or_(
            and_(
                TextChangeParagraph.side == ChangeSide.OLD,
                TextChangeParagraph.paragraph_id.in_(old),
            ),
            and_(
                TextChangeParagraph.side == ChangeSide.NEW,
                TextChangeParagraph.paragraph_id.in_(new),
            ),
        )
    )
    return select(TextChange).where(
        TextChange.version_id == round_.response_version_id,
        TextChange.ended_at.is_(None),
        or_(TextChange.id.in_(rows), TextChange.old_section_id.in_(section_ids)),
    )


@dataclass
class IndexRow:
    node: Node
    points: int = 0
    changes: int = 0


def section_index(session: Session, round_: Round) -> list[IndexRow]:
    """Every section of the consulted version in reading order, with how many admissible points
    are anchored in it and how many changes touch it."""
    tree = frozen_tree(session, round_.version)
    rows = {node.section.id: IndexRow(node) for node in tree.walk()}
    for section_id, count in session.execute(
        decidable_points(round_)
        .with_only_columns(Point.section_id, func.count())
        .where(Point.section_id.is_not(None))
        .group_by(Point.section_id)
        .order_by(None)
    ):
        if section_id in rows:
            rows[section_id].points = count
    if round_.response_version_id:
        successor = aliased(Section)
        side = aliased(TextChangeParagraph)
        touched = (
            select(
                func.coalesce(successor.predecessor_id, Paragraph.section_id).label("sid"),
                TextChange.id.label("cid"),
            )
            .join(side, side.change_id == TextChange.id)
            .join(Paragraph, Paragraph.id == side.paragraph_id)
            .outerjoin(
                successor,
                and_(successor.id == Paragraph.section_id, side.side == ChangeSide.NEW),
            )
            .where(
                TextChange.version_id == round_.response_version_id,
                TextChange.ended_at.is_(None),
            )
            .subquery()
        )
        for section_id, count in session.execute(
            select(touched.c.sid, func.count(func.distinct(touched.c.cid))).group_by(touched.c.sid)
        ):
            if section_id in rows:
                rows[section_id].changes += count
        for section_id, count in session.execute(
            select(TextChange.old_section_id, func.count())
            .where(
                TextChange.version_id == round_.response_version_id,
                TextChange.ended_at.is_(None),
                TextChange.old_section_id.is_not(None),
            )
            .group_by(TextChange.old_section_id)
        ):
            if section_id in rows:
                rows[section_id].changes += count
    return list(rows.values())


@dataclass
class ShownChange:
    change: TextChange
    shown: TracedChange
    reasons: list[Annotation]


@dataclass
class UnchangedPoint:
    point: Point
    text: str | None
    decision: Decision | None


@dataclass
class SectionReport:
    node: Node
    #: The sections of the response version that continue it, with their paragraphs.
    response: list[Node] = field(default_factory=list)
    changes: list[ShownChange] = field(default_factory=list)
    unchanged: list[UnchangedPoint] = field(default_factory=list)
    unchanged_total: int = 0


def section_report(session: Session, round_: Round, node: Node) -> SectionReport:
    report = SectionReport(node)
    ids = [node.section.id]
    version = round_.response_version
    if version is not None:
        tree = frozen_tree(session, version)
        report.response = [n for n in tree.walk() if n.section.predecessor_id == node.section.id]
        changes = list(session.scalars(_touching(round_, ids).order_by(TextChange.id)))
        shown = shown_changes(session, round_, [(c.id, c.id, None) for c in changes])
        reasons = annotations(session, [c.id for c in changes])
        report.changes = [
            ShownChange(c, s, reasons.get(c.id, [])) for c, s in zip(changes, shown, strict=True)
        ]
    linked = exists().where(
        DecisionLink.decision_id == Decision.id, DecisionLink.change_id.is_not(None)
    )
    query = (
        decidable_points(round_)
        .outerjoin(
            Decision,
            and_(Decision.point_id == Point.id, Decision.state == DecisionState.PUBLISHED),
        )
        .where(Point.section_id.in_(ids), or_(Decision.id.is_(None), ~linked))
    )
    report.unchanged_total = session.scalar(query.with_only_columns(func.count()).order_by(None))
    points = list(
        session.scalars(
            query.order_by(Observation.protocol_number, Point.number).limit(POINTS_SHOWN)
        )
    )
    texts = publication.published_point_texts(session, points)
    decisions = published_decisions(session, [p.id for p in points])
    report.unchanged = [UnchangedPoint(p, texts[p.id], decisions.get(p.id)) for p in points]
    return report
