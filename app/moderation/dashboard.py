"""A round's dashboard: where its observations stand, what they are about, who took part.

Every figure is one aggregate statement whatever the size of the round (:func:`round_dashboard`
costs a fixed number of statements, asserted in ``tests/moderation/test_dashboard.py``). The
charts are drawn on the server as SVG (:func:`bars`), each with the same numbers in a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import distinct, func, literal, select, union
from sqlalchemy.orm import Session

from app.moderation.models import (
    ObservationTag,
    PointAssignment,
    PointTag,
    Tag,
    TagFamily,
    Triage,
    TriageState,
)
from app.observations.models import Channel, Observation, Point, PointState
from app.plans.models import PolicyArea
from app.rounds.eligibility import eligible_organisations
from app.rounds.models import Round
from app.stakeholders.models import Organisation, OrganisationKind, Zone

#: How many of the items waiting longest the dashboard lists.
WAITING_SHOWN = 10


@dataclass
class Dashboard:
    total: int = 0
    by_state: dict[TriageState, int] = field(default_factory=dict)
    by_area: dict[PolicyArea, int] = field(default_factory=dict)
    #: None: no organisation (a citizen).
    by_kind: dict[OrganisationKind | None, int] = field(default_factory=dict)
    #: (zone name or None, count), largest first.
    by_zone: list[tuple[str | None, int]] = field(default_factory=list)
    by_channel: dict[Channel, int] = field(default_factory=dict)
    points: int = 0
    points_assigned: int = 0
    waiting: list[Observation] = field(default_factory=list)
    eligible: int = 0
    eligible_submitted: int = 0

    @property
    def triaged(self) -> int:
        return self.total - self.by_state.get(TriageState.RECEIVED, 0)

    @staticmethod
    def percent(part: int, whole: int) -> int:
        return round(100 * part / whole) if whole else 0


def _registered(round_: Round):
    return (Observation.round_id == round_.id, Observation.protocol_number.is_not(None))


def round_dashboard(session: Session, round_: Round) -> Dashboard:
    board = Dashboard()
    registered = _registered(round_)
    base = select(Observation.id).where(*registered)

    for state, count in session.execute(
        select(Triage.state, func.count())
        .join(Observation, Observation.id == Triage.observation_id)
        .where(*registered)
        .group_by(Triage.state)
    ):
        board.by_state[state] = count
    board.total = sum(board.by_state.values())

    # An observation counts once per area, whether the tag is on it or on one of its points.
    tagged = union(
        select(ObservationTag.observation_id.label("oid"), ObservationTag.tag_id.label("tid")),
        select(Point.observation_id, PointTag.tag_id)
        .join(Point, Point.id == PointTag.point_id)
        .where(Point.state == PointState.ACTIVE),
    ).subquery()
    for area, count in session.execute(
        select(Tag.policy_area, func.count(distinct(tagged.c.oid)))
        .join(Tag, Tag.id == tagged.c.tid)
        .where(Tag.family == TagFamily.POLICY_AREA, tagged.c.oid.in_(base))
        .group_by(Tag.policy_area)
    ):
        board.by_area[area] = count

    for kind, count in session.execute(
        select(Organisation.kind, func.count())
        .select_from(Observation)
        .outerjoin(Organisation, Organisation.id == Observation.organisation_id)
        .where(*registered)
        .group_by(Organisation.kind)
    ):
        board.by_kind[kind] = count

    board.by_zone = [
        (name, count)
        for name, count in session.execute(
            select(Zone.name, func.count())
            .select_from(Observation)
            .outerjoin(Organisation, Organisation.id == Observation.organisation_id)
            .outerjoin(Zone, Zone.id == Organisation.zone_id)
            .where(*registered)
            .group_by(Zone.name)
            .order_by(func.count().desc(), Zone.name)
        )
    ]

    for channel, count in session.execute(
        select(Observation.channel, func.count()).where(*registered).group_by(Observation.channel)
    ):
        board.by_channel[channel] = count

    assigned = (
        select(literal(1)).where(PointAssignment.point_id == Point.id).correlate(Point).exists()
    )
    board.points, board.points_assigned = session.execute(
        select(func.count(), func.count().filter(assigned)).where(
            Point.observation_id.in_(base), Point.state == PointState.ACTIVE
        )
    ).one()

    board.waiting = list(
        session.scalars(
            select(Observation)
            .join(Triage, Triage.observation_id == Observation.id)
            .where(*registered, Triage.state == TriageState.RECEIVED)
            .order_by(Observation.received_at, Observation.id)
            .limit(WAITING_SHOWN)
        )
    )

    eligible = eligible_organisations(round_).subquery()
    board.eligible, board.eligible_submitted = session.execute(
        select(
            func.count(),
            func.count().filter(
                eligible.c.id.in_(
                    select(Observation.organisation_id).where(
                        *registered, Observation.organisation_id.is_not(None)
                    )
                )
            ),
        ).select_from(eligible)
    ).one()
    return board


# Charts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    total: int


#: The SVG's coordinate system: the bars start after the labels and scale to the largest value.
WIDTH = 300
LABEL_WIDTH = 120
VALUE_WIDTH = 40
ROW = 26


def bars(rows: list[tuple[str, int]]) -> Chart:
    """A horizontal bar chart's geometry (the template draws it, scaled by its viewBox)."""
    largest = max((value for _label, value in rows), default=0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    return Chart(
        bars=[
            Bar(
                label=label,
                value=value,
                y=index * ROW,
                width=round(span * value / largest, 1) if largest else 0,
            )
            for index, (label, value) in enumerate(rows)
        ],
        height=max(len(rows), 1) * ROW,
        total=sum(value for _label, value in rows),
    )
