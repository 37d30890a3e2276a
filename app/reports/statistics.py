"""The report's statistics: a round's observations and points by outcome, broken down by
organisation kind, group, zone, policy area and channel; participation; response time.

Every table costs two aggregate statements whatever the size of the round (one for the points
by outcome, one for the observations), so :func:`round_statistics` runs a fixed number of
statements (asserted in ``tests/reports/test_statistics.py``).

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

from sqlalchemy import ColumnElement, Select, distinct, func, literal, select, union
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


def _pairs(round_: Round, key, *joins) -> Select:
    """(observation, point, key) for every registered observation (point None when it has no
    active point), through the joins that reach ``key``."""
    query = (
        select(Observation.id.label("oid"), Point.id.label("pid"), key.label("key"))
        .select_from(Observation)
        .outerjoin(
            Point, (Point.observation_id == Observation.id) & (Point.state == PointState.ACTIVE)
        )
    )
    for target, on in joins:
        query = query.outerjoin(target, on)
    return query.where(*_registered(round_))


def _areas(round_: Round) -> Select:
    """(observation, point, policy area) where the area is tagged on the point or on its
    observation; observations and points without one get a row with area None."""
    tagged = union(
        select(PointTag.point_id.label("pid"), PointTag.tag_id.label("tid")),
        select(Point.id, ObservationTag.tag_id).join(
            ObservationTag, ObservationTag.observation_id == Point.observation_id
        ),
    ).subquery()
    area = (
        select(tagged.c.pid, Tag.policy_area.label("area"))
        .join(Tag, Tag.id == tagged.c.tid)
        .where(Tag.family == TagFamily.POLICY_AREA)
        .subquery()
    )
    return _pairs(round_, area.c.area, (area, area.c.pid == Point.id))


def _dimensions(round_: Round) -> list[tuple[str, Select]]:
    organisation = (Organisation, Organisation.id == Observation.organisation_id)
    return [
        ("kind", _pairs(round_, Organisation.kind, organisation)),
        (
            "group",
            _pairs(
                round_,
                Group.name,
                organisation,
                (group_memberships, group_memberships.c.organisation_id == Organisation.id),
                (Group, Group.id == group_memberships.c.group_id),
            ),
        ),
        ("zone", _pairs(round_, Zone.name, organisation, (Zone, Zone.id == Organisation.zone_id))),
        ("area", _areas(round_)),
        ("channel", _pairs(round_, Observation.channel)),
        ("all", _pairs(round_, literal("all"))),
    ]


def _fill(session: Session, pairs: Select) -> dict[object, Row]:
    sub = pairs.subquery()
    admissible = Triage.state.in_(DECIDABLE)
    rows: dict[object, Row] = {}
    for key, observations, not_admissible in session.execute(
        select(
            sub.c.key,
            func.count(distinct(sub.c.oid)),
            func.count(distinct(sub.c.oid)).filter(~admissible),
        )
        .join(Triage, Triage.observation_id == sub.c.oid)
        .group_by(sub.c.key)
    ):
        rows[key] = Row(key, observations, not_admissible)
    for key, outcome, points in session.execute(
        select(sub.c.key, Decision.outcome, func.count(distinct(sub.c.pid)))
        .join(Triage, Triage.observation_id == sub.c.oid)
        .outerjoin(
            Decision,
            (Decision.point_id == sub.c.pid) & (Decision.state == DecisionState.PUBLISHED),
        )
        .where(admissible, sub.c.pid.is_not(None))
        .group_by(sub.c.key, Decision.outcome)
    ):
        row = rows.setdefault(key, Row(key))
        row.points += points
        if outcome is not None:
            row.outcomes[outcome] = points
    return rows


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
    for dimension, pairs in _dimensions(round_):
        rows = _fill(session, pairs)
        if dimension == "all":
            total = rows.get("all", Row("all"))
            figures.observations = total.observations
            figures.not_admissible = total.not_admissible
            figures.points = total.points
            figures.outcomes = total.outcomes
        else:
            figures.tables.append(Table(dimension, _order(rows)))

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
