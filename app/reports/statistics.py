"""The report's statistics: a round's observations and points by outcome, broken down by
organisation kind, group, zone, policy area and channel; participation; response time.

The tables come from one pass over the round's (observation, point) rows with their triage,
outcome, organisation, zone and channel, and the groups and policy areas read beside them:
a fixed number of statements whatever the size of the round (asserted in
``tests/reports/test_statistics.py``, where the figures are also checked against a count made
by grouped aggregates in the database).

What counts, as the report says it on its page:

- an *observation* is registered and not withdrawn; it counts once per value of a dimension (an
  organisation in two groups counts in both, an observation tagged with two policy areas in
  both: the columns of a table can add up to more than the total);
- a *point* is an active point of an admissible observation; its outcome is that of its
  published decision, or "not yet decided";
- a policy area belongs to a point when it is tagged on the point or on its observation.
"""

from __future__ import annotations

import statistics as stats
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, distinct, func, select, union
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.decisions.models import Decision, DecisionState, Outcome
from app.decisions.operations import DECIDABLE
from app.moderation.models import ObservationTag, PointTag, Tag, TagFamily, Triage
from app.observations.models import Observation, ObservationState, Point, PointState
from app.rounds.eligibility import eligible_organisations
from app.rounds.models import Round
from app.stakeholders.models import Group, Organisation, Zone, group_memberships

#: The order outcomes are shown in (then "not yet decided").
OUTCOMES = (
    Outcome.ACCEPTED,
    Outcome.PARTLY_ACCEPTED,
    Outcome.NOT_ACCEPTED,
    Outcome.NOT_RELEVANT,
    Outcome.ALREADY_COVERED,
)


@dataclass
class Row:
    """One value of a dimension (``key`` None: the observations with no value, e.g. a
    citizen's for the organisation kind)."""

    key: object
    observations: int = 0
    not_admissible: int = 0
    points: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)

    @property
    def undecided(self) -> int:
        return self.points - sum(self.outcomes.values())


@dataclass
class Table:
    dimension: str
    rows: list[Row]


@dataclass
class Statistics:
    observations: int = 0
    not_admissible: int = 0
    points: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)
    #: Observations with at least one point of that outcome.
    observations_by_outcome: dict[Outcome, int] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    eligible: int = 0
    #: Eligible organisations with an active referent: the ones told when the round opened.
    invited: int = 0
    submitted: int = 0
    #: Days from an observation's receipt to the publication of a point's decision.
    median_days: float | None = None
    slowest_days: float | None = None

    @property
    def undecided(self) -> int:
        return self.points - sum(self.outcomes.values())

    def table(self, dimension: str) -> Table:
        return next(t for t in self.tables if t.dimension == dimension)


def _registered(round_: Round) -> tuple[ColumnElement[bool], ...]:
    return (
        Observation.round_id == round_.id,
        Observation.protocol_number.is_not(None),
        Observation.state == ObservationState.SUBMITTED,
    )


#: The tables, in the order the page shows them.
DIMENSIONS = ("kind", "group", "zone", "area", "channel")


def _base(session: Session, round_: Round):
    """(observation, point, triage state, published outcome, organisation, kind, zone,
    channel): one row per active point of every registered observation with a triage row, one
    with point None for an observation without one."""
    return (
        session.connection()
        .execute(  # rows, not ORM results: thousands of them
            select(
                Observation.id,
                Point.id,
                Triage.state,
                Decision.outcome,
                Observation.organisation_id,
                Organisation.kind,
                Zone.name,
                Observation.channel,
            )
            .select_from(Observation)
            .join(Triage, Triage.observation_id == Observation.id)
            .outerjoin(
                Point, (Point.observation_id == Observation.id) & (Point.state == PointState.ACTIVE)
            )
            .outerjoin(
                Decision,
                (Decision.point_id == Point.id) & (Decision.state == DecisionState.PUBLISHED),
            )
            .outerjoin(Organisation, Organisation.id == Observation.organisation_id)
            .outerjoin(Zone, Zone.id == Organisation.zone_id)
            .where(*_registered(round_))
        )
        .all()
    )


def _groups(session: Session, round_: Round) -> dict[int, list[str]]:
    """The groups of each organisation that sent an observation to the round."""
    senders = select(Observation.organisation_id).where(*_registered(round_))
    groups: dict[int, list[str]] = {}
    for organisation_id, name in session.execute(
        select(group_memberships.c.organisation_id, Group.name)
        .join(Group, Group.id == group_memberships.c.group_id)
        .where(group_memberships.c.organisation_id.in_(senders))
    ):
        groups.setdefault(organisation_id, []).append(name)
    return groups


def _areas(session: Session, round_: Round) -> dict[int, set]:
    """The policy areas of each active point of the round: tagged on the point or on its
    observation."""
    points = (
        select(Point.id)
        .join(Observation, Observation.id == Point.observation_id)
        .where(*_registered(round_), Point.state == PointState.ACTIVE)
    )
    on_point = (
        select(PointTag.point_id, Tag.policy_area)
        .join(Tag, Tag.id == PointTag.tag_id)
        .where(Tag.family == TagFamily.POLICY_AREA, PointTag.point_id.in_(points))
    )
    on_observation = (
        select(Point.id, Tag.policy_area)
        .join(ObservationTag, ObservationTag.observation_id == Point.observation_id)
        .join(Tag, Tag.id == ObservationTag.tag_id)
        .where(Tag.family == TagFamily.POLICY_AREA, Point.id.in_(points))
    )
    areas: dict[int, set] = {}
    for point_id, area in session.execute(union(on_point, on_observation)):
        areas.setdefault(point_id, set()).add(area)
    return areas


def _counted(session: Session, round_: Round) -> dict[str, dict[object, Row]]:
    """Every table's rows (and "all", the totals) from one pass over :func:`_base`: an
    observation counts once per value it has, a point once per value of its own."""
    groups, areas = _groups(session, round_), _areas(session, round_)
    seen: dict[str, dict] = {d: {} for d in (*DIMENSIONS, "all")}
    for oid, pid, state, outcome, organisation_id, kind, zone, channel in _base(session, round_):
        values = {
            "kind": (kind,),
            "group": groups.get(organisation_id) or (None,),
            "zone": (zone,),
            "area": areas.get(pid) or (None,) if pid is not None else (None,),
            "channel": (channel,),
            "all": ("all",),
        }
        admissible = state in DECIDABLE
        for dimension, keys in values.items():
            table = seen[dimension]
            for key in keys:
                # observations, the not admissible ones, points by outcome (None: undecided)
                counts = table.setdefault(key, (set(), set(), {}))
                counts[0].add(oid)
                if not admissible:
                    counts[1].add(oid)
                elif pid is not None:
                    counts[2].setdefault(outcome, set()).add(pid)
    return {
        dimension: {
            key: Row(
                key,
                len(observations),
                len(refused),
                sum(len(points) for points in by_outcome.values()),
                {o: len(points) for o, points in by_outcome.items() if o is not None},
            )
            for key, (observations, refused, by_outcome) in table.items()
        }
        for dimension, table in seen.items()
    }


def _order(rows: dict[object, Row]) -> list[Row]:
    """Largest first, the rows without a value last."""
    return sorted(rows.values(), key=lambda r: (r.key is None, -r.observations, str(r.key)))


def _published(round_: Round, *columns) -> Select:
    """``columns`` over the published decisions of the round's counted points."""
    return (
        select(*columns)
        .select_from(Decision)
        .join(Point, Point.id == Decision.point_id)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Observation.id)
        .where(
            *_registered(round_),
            Decision.state == DecisionState.PUBLISHED,
            Point.state == PointState.ACTIVE,
            Triage.state.in_(DECIDABLE),
        )
    )


def round_statistics(session: Session, round_: Round) -> Statistics:
    figures = Statistics()
    counted = _counted(session, round_)
    total = counted["all"].get("all", Row("all"))
    figures.observations = total.observations
    figures.not_admissible = total.not_admissible
    figures.points = total.points
    figures.outcomes = total.outcomes
    figures.tables = [Table(dimension, _order(counted[dimension])) for dimension in DIMENSIONS]

    for outcome, count in session.execute(
        _published(round_, Decision.outcome, func.count(distinct(Point.observation_id))).group_by(
            Decision.outcome
        )
    ):
        figures.observations_by_outcome[outcome] = count

    eligible = eligible_organisations(round_).subquery()
    reachable = select(User.organisation_id).where(
        User.active.is_(True), User.organisation_id.is_not(None)
    )
    submitted = select(Observation.organisation_id).where(
        *_registered(round_), Observation.organisation_id.is_not(None)
    )
    figures.eligible, figures.invited, figures.submitted = session.execute(
        select(
            func.count(),
            func.count().filter(eligible.c.id.in_(reachable)),
            func.count().filter(eligible.c.id.in_(submitted)),
        ).select_from(eligible)
    ).one()

    waits = [
        _days(received, published)
        for received, published in session.execute(
            _published(round_, Observation.received_at, Decision.published_at).where(
                Observation.received_at.is_not(None), Decision.published_at.is_not(None)
            )
        )
    ]
    if waits:
        figures.median_days = round(stats.median(waits), 1)
        figures.slowest_days = round(max(waits), 1)
    return figures


def _days(received: datetime, published: datetime) -> float:
    return max((published - received).total_seconds(), 0) / 86_400


__all__ = ["OUTCOMES", "Row", "Statistics", "Table", "round_statistics"]
