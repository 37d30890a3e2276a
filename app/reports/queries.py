"""The report by observation: a round's registered observations in protocol order, filtered,
a page at a time, each with its points, their published outcomes and reasonings and the
changes they caused, before and after.

The report shows what may be published and nothing else, to staff reviewing the draft as to
the public afterwards: the organisation's name, a person's name only with consent, each
point's published text (redactions applied; none where the round does not publish its
observations), published decisions only. A page costs a fixed number of statements whatever
the size of the round and of the page (asserted in ``tests/reports/test_report_pages.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, joinedload

from app.decisions.links import TracedChange, trace_changes_many
from app.decisions.models import Decision, DecisionState
from app.decisions.operations import DECIDABLE
from app.decisions.queries import Outcome, published_decisions
from app.moderation import publication
from app.moderation.models import ObservationTag, PointTag, Tag, Triage, TriageState
from app.observations.models import Observation, ObservationState, Point, PointState
from app.plans.frozen import frozen_tree
from app.rounds.models import Round
from app.stakeholders.models import Organisation, OrganisationKind

UNDECIDED = "undecided"


def _int(value) -> int | None:
    """A positive id from a query string, or None (bounded: no 40-digit integers)."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 9:
        return int(value) or None
    return None


@dataclass(frozen=True)
class ReportFilter:
    """Which observations the report shows: those with an active point of that outcome (or
    still undecided), anchored in that section (or one below it), tagged with that tag (on the
    point or the observation), from that kind of organisation, from a comune of that zone.
    ``from_args`` ignores what it cannot understand."""

    outcome: str | None = None
    section_id: int | None = None
    kind: OrganisationKind | None = None
    zone_id: int | None = None
    tag_id: int | None = None

    @classmethod
    def from_args(cls, args) -> ReportFilter:
        outcome = args.get("outcome")
        kind = args.get("kind")
        return cls(
            outcome=outcome if outcome in (*Outcome._value2member_map_, UNDECIDED) else None,
            section_id=_int(args.get("section")),
            kind=OrganisationKind(kind) if kind in OrganisationKind._value2member_map_ else None,
            zone_id=_int(args.get("zone")),
            tag_id=_int(args.get("tag")),
        )

    def args(self) -> dict:
        values = {
            "outcome": self.outcome,
            "section": self.section_id,
            "kind": self.kind.value if self.kind else None,
            "zone": self.zone_id,
            "tag": self.tag_id,
        }
        return {name: value for name, value in values.items() if value is not None}

    @property
    def active(self) -> bool:
        return bool(self.args())


def registered(round_: Round):
    return select(Observation).where(
        Observation.round_id == round_.id,
        Observation.protocol_number.is_not(None),
        Observation.state == ObservationState.SUBMITTED,
    )


def _section_ids(session: Session, round_: Round, section_id: int) -> list[int]:
    tree = frozen_tree(session, round_.version)
    node = tree.nodes.get(section_id)
    return [n.section.id for n in node.walk()] if node else [-1]


def report_query(session: Session, round_: Round, flt: ReportFilter):
    query = registered(round_)
    if flt.kind or flt.zone_id:
        query = query.join(Organisation, Organisation.id == Observation.organisation_id)
        if flt.kind:
            query = query.where(Organisation.kind == flt.kind)
        if flt.zone_id:
            query = query.where(Organisation.zone_id == flt.zone_id)
    point = [Point.observation_id == Observation.id, Point.state == PointState.ACTIVE]
    if flt.section_id:
        point.append(Point.section_id.in_(_section_ids(session, round_, flt.section_id)))
    if flt.tag_id:
        point.append(
            or_(
                exists().where(PointTag.point_id == Point.id, PointTag.tag_id == flt.tag_id),
                exists().where(
                    ObservationTag.observation_id == Observation.id,
                    ObservationTag.tag_id == flt.tag_id,
                ),
            )
        )
    if flt.outcome:
        published = exists().where(
            Decision.point_id == Point.id, Decision.state == DecisionState.PUBLISHED
        )
        if flt.outcome == UNDECIDED:
            point.append(~published)
            query = query.where(
                exists().where(Triage.observation_id == Observation.id, Triage.state.in_(DECIDABLE))
            )
        else:
            point.append(
                exists().where(
                    Decision.point_id == Point.id,
                    Decision.state == DecisionState.PUBLISHED,
                    Decision.outcome == Outcome(flt.outcome),
                )
            )
    if len(point) > 2:
        query = query.where(exists().where(*point))
    return query.order_by(Observation.protocol_number)


@dataclass
class ReportPoint:
    point: Point
    text: str | None
    decision: Decision | None
    changes: list[TracedChange]


@dataclass
class ReportItem:
    observation: Observation
    name: str | None
    admissible: bool
    #: Why it was found not admissible (shown as the author reads it on the trace page).
    reason: str | None
    points: list[ReportPoint]


def report_items(session: Session, round_: Round, observations: list[Observation]) -> list:
    """The page's observations with everything the report shows of them."""
    if not observations:
        return []
    ids = [o.id for o in observations]
    # the organisations with their zones and groups, once for the page
    session.scalars(
        select(Observation)
        .where(Observation.id.in_(ids))
        .options(
            joinedload(Observation.organisation).joinedload(Organisation.zone),
            joinedload(Observation.organisation).selectinload(Organisation.groups),
        )
    ).unique().all()
    triage = {
        t.observation_id: t
        for t in session.scalars(select(Triage).where(Triage.observation_id.in_(ids)))
    }
    points = list(
        session.scalars(
            select(Point)
            .where(Point.observation_id.in_(ids), Point.state == PointState.ACTIVE)
            .order_by(Point.observation_id, Point.number)
        )
    )
    texts = publication.published_point_texts(session, points)
    decisions = published_decisions(session, [p.id for p in points])
    changes = trace_changes_many(session, round_, observations)
    by_observation: dict[int, list[ReportPoint]] = {i: [] for i in ids}
    for point in points:
        by_observation[point.observation_id].append(
            ReportPoint(point, texts[point.id], decisions.get(point.id), changes.get(point.id, []))
        )
    items = []
    for observation in observations:
        row = triage.get(observation.id)
        refused = row is not None and row.state is TriageState.NOT_ADMISSIBLE
        items.append(
            ReportItem(
                observation=observation,
                name=publication.public_name(observation),
                admissible=not refused,
                reason=row.reason if refused else None,
                points=by_observation[observation.id],
            )
        )
    return items


def report_tags(session: Session) -> list[Tag]:
    """The tags the report filters by (bounded: a registry of tags, not of observations)."""
    return list(session.scalars(select(Tag).order_by(Tag.family, Tag.name).limit(500)))
