"""The read side of decisions: the workspace list, a point's page, the trace page, coverage."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, contains_eager

from app.core.permissions import Loader
from app.decisions.models import (
    CHANGING,
    AnswerTemplate,
    Decision,
    DecisionRevision,
    DecisionState,
    Outcome,
)
from app.decisions.operations import DECIDABLE
from app.extensions import db
from app.moderation.models import PointAssignment, Triage
from app.observations.models import Observation, ObservationState, Point, PointState
from app.rounds.models import Round


def get_point(point_id: int) -> Point | None:
    return db.session.get(Point, point_id)


#: The point a URL names (``<int:point_id>``), for ``@require(load=POINT)``.
POINT = Loader("point", ("point_id",), get_point)


def get_template(template_id: int) -> AnswerTemplate | None:
    return db.session.get(AnswerTemplate, template_id)


TEMPLATE = Loader("template", ("template_id",), get_template)

#: The decision states the workspace filters by (``undecided``: no decision written yet).
STATE_FILTERS = ("undecided", "draft", "published")


@dataclass(frozen=True)
class WorkFilter:
    """What the workspace shows: ``mine`` (points assigned to the user) or all, a decision
    state and an outcome. ``from_args`` ignores what it cannot understand."""

    mine: bool = True
    state: str | None = None
    outcome: Outcome | None = None

    @classmethod
    def from_args(cls, args) -> WorkFilter:
        state = args.get("state") if args.get("state") in STATE_FILTERS else None
        outcome = args.get("outcome")
        return cls(
            mine=args.get("scope", "mine") != "all",
            state=state,
            outcome=Outcome(outcome) if outcome in Outcome._value2member_map_ else None,
        )

    def args(self) -> dict:
        values = {"scope": "mine" if self.mine else "all"}
        if self.state:
            values["state"] = self.state
        if self.outcome:
            values["outcome"] = self.outcome.value
        return values


def decidable_points(round_: Round):
    """The round's points to decide: active, of submitted and admitted observations."""
    return (
        select(Point)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Observation.id)
        .where(
            Observation.round_id == round_.id,
            Observation.state == ObservationState.SUBMITTED,
            Point.state == PointState.ACTIVE,
            Triage.state.in_(DECIDABLE),
        )
    )


def workspace_query(round_: Round, user, flt: WorkFilter):
    query = decidable_points(round_).outerjoin(Decision, Decision.point_id == Point.id)
    if flt.mine:
        query = query.where(
            exists().where(
                PointAssignment.point_id == Point.id, PointAssignment.editor_id == user.id
            )
        )
    if flt.state == "undecided":
        query = query.where(Decision.id.is_(None))
    elif flt.state == "draft":
        query = query.where(Decision.state == DecisionState.DRAFT)
    elif flt.state == "published":
        query = query.where(Decision.state == DecisionState.PUBLISHED)
    if flt.outcome:
        query = query.where(Decision.outcome == flt.outcome)
    return query.order_by(Observation.protocol_number, Point.number)


def decisions_by_point(session: Session, point_ids) -> dict[int, Decision]:
    ids = list(point_ids)
    if not ids:
        return {}
    return {
        d.point_id: d for d in session.scalars(select(Decision).where(Decision.point_id.in_(ids)))
    }


def published_decisions(session: Session, point_ids) -> dict[int, Decision]:
    """The published decisions of these points, by point (one query)."""
    ids = list(point_ids)
    if not ids:
        return {}
    return {
        d.point_id: d
        for d in session.scalars(
            select(Decision).where(
                Decision.point_id.in_(ids), Decision.state == DecisionState.PUBLISHED
            )
        )
    }


def decision_of(session: Session, point: Point) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.point_id == point.id))


def revisions_of(session: Session, decision: Decision | None) -> list[DecisionRevision]:
    if decision is None:
        return []
    return list(
        session.scalars(
            select(DecisionRevision)
            .where(DecisionRevision.decision_id == decision.id)
            .order_by(DecisionRevision.number.desc())
        )
    )


def usable_templates(session: Session) -> list[AnswerTemplate]:
    return list(
        session.scalars(
            select(AnswerTemplate)
            .where(AnswerTemplate.archived.is_(False))
            .order_by(AnswerTemplate.title, AnswerTemplate.id)
            .limit(500)
        )
    )


def counts(session: Session, round_: Round) -> dict[str, int]:
    """How many of the round's points are undecided, drafted, published (one query)."""
    sub = decidable_points(round_).outerjoin(Decision, Decision.point_id == Point.id)
    row = session.execute(
        sub.with_only_columns(
            func.count(),
            func.count(Decision.id).filter(Decision.state == DecisionState.DRAFT),
            func.count(Decision.id).filter(Decision.state == DecisionState.PUBLISHED),
        ).order_by(None)
    ).one()
    total, drafts, published = row
    return {
        "total": total,
        "undecided": total - drafts - published,
        "draft": drafts,
        "published": published,
    }


# The trace page ----------------------------------------------------------------------------


@dataclass
class TracedPoint:
    point: Point
    decision: Decision | None  # published only


def trace(session: Session, observation: Observation) -> list[TracedPoint]:
    """The observation's active points with their published decisions (withdrawn: none)."""
    points = list(
        session.scalars(
            select(Point)
            .where(Point.observation_id == observation.id, Point.state == PointState.ACTIVE)
            .order_by(Point.number)
        )
    )
    if observation.state is ObservationState.WITHDRAWN:
        return [TracedPoint(p, None) for p in points]
    published = published_decisions(session, [p.id for p in points])
    return [TracedPoint(p, published.get(p.id)) for p in points]


# Coverage ----------------------------------------------------------------------------------


#: For lists that show points by their label only: the observation's protocol code from the
#: query's own join, not the observation with its text, round, organisation and author (eight
#: joins, and rows of kilobytes to sort, for each of up to 200 points).
LABEL_ONLY = (
    contains_eager(Point.observation).load_only(Observation.protocol_code),
    contains_eager(Point.observation).lazyload("*"),
)


def undecided_points(session: Session, round_: Round, *, limit: int = 200) -> tuple[int, list]:
    """Admissible points without a published decision: how many, and the first ``limit``."""
    query = (
        decidable_points(round_)
        .outerjoin(Decision, Decision.point_id == Point.id)
        .where((Decision.id.is_(None)) | (Decision.state != DecisionState.PUBLISHED))
    )
    total = session.scalar(query.with_only_columns(func.count()).order_by(None))
    rows = list(
        session.scalars(
            query.options(*LABEL_ONLY)
            .order_by(Observation.protocol_number, Point.number)
            .limit(limit)
        )
    )
    return total, rows


def changing_decisions(session: Session, round_: Round):
    """The round's published decisions whose outcome changed the text."""
    return (
        select(Decision)
        .where(
            Decision.round_id == round_.id,
            Decision.state == DecisionState.PUBLISHED,
            Decision.outcome.in_(CHANGING),
        )
        .order_by(Decision.id)
    )
