"""A confirmed group of similar observations decided once for all its members.

Moderation confirms groups of campaign letters and near-duplicates (``moderation.grouping``);
a group is never a merge. An editor who has decided a point of one member gives the same
decision — outcome, reasoning and links to the text — to the other members: each gets its own
decision row (and, once published, its own e-mail and its own place on the trace page), so
every letter stays numbered and answered. A member is set aside, listed with the reason, when
it should be looked at on its own: it adds something to the template, it was split into
several points, it is already decided, it is not admitted or was withdrawn, or the editor may
not decide it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.decisions import links as links_
from app.decisions.models import Decision, DecisionError
from app.decisions.operations import (
    DECIDABLE,
    Draft,
    _after_publication,
    _flush,
    _publish_one,
    problems_of,
    save,
    settings_of,
)
from app.decisions.permissions import can_decide_point
from app.moderation import grouping
from app.moderation.models import SimilarityGroup, Triage
from app.observations.models import Observation, ObservationState, Point, PointState

ADDS_SOMETHING = _l("it adds something of its own to the template: decide it on its own")
SEVERAL_POINTS = _l("it was split into several points: decide each on its own")
ALREADY_DECIDED = _l("its decision is already published")
NOT_ADMITTED = _l("it is not admitted, or was withdrawn")
NOT_YOURS = _l("its point is not yours to decide")


@dataclass
class SetAside:
    observation: Observation
    reason: object


@dataclass
class GroupPlan:
    """What giving a point's decision to its group would do."""

    group: SimilarityGroup
    targets: list[Point] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)


def plan_group(session: Session, point: Point, *, actor: User) -> GroupPlan | None:
    """Which members of the point's confirmed group would take its decision, and which are
    set aside and why; None when the observation is in no confirmed group. A fixed number
    of statements whatever the group's size."""
    group = grouping.confirmed_group_of(session, point.observation_id)
    if group is None:
        return None
    members = [
        listed
        for listed in grouping.members_of(session, group)
        if listed.observation.id != point.observation_id
    ]
    ids = [listed.observation.id for listed in members]
    points: dict[int, list[Point]] = defaultdict(list)
    for member_point in session.scalars(
        select(Point).where(Point.observation_id.in_(ids), Point.state == PointState.ACTIVE)
    ):
        points[member_point.observation_id].append(member_point)
    published = set(
        session.scalars(
            select(Decision.point_id).where(
                Decision.point_id.in_([p.id for ps in points.values() for p in ps]),
                Decision.published_at.is_not(None),
            )
        )
    )
    triages = dict(
        session.execute(
            select(Triage.observation_id, Triage.state).where(Triage.observation_id.in_(ids))
        ).all()
    )
    plan = GroupPlan(group)
    for listed in members:
        observation = listed.observation
        own = points.get(observation.id, [])
        if listed.member.adds_something:
            reason = ADDS_SOMETHING
        elif (
            observation.state is not ObservationState.SUBMITTED
            or triages.get(observation.id) not in DECIDABLE
        ):
            reason = NOT_ADMITTED
        elif len(own) != 1:
            reason = SEVERAL_POINTS
        elif own[0].id in published:
            reason = ALREADY_DECIDED
        elif not can_decide_point(actor, own[0]):
            reason = NOT_YOURS
        else:
            plan.targets.append(own[0])
            continue
        plan.set_aside.append(SetAside(observation, reason))
    return plan


def apply_to_group(
    session: Session, point: Point, *, actor: User, now: datetime | None = None
) -> GroupPlan:
    """Give the point's decision to every member of its group that can take it: a draft
    where the decision is a draft, published (with the members' e-mails) where it is
    published. All or nothing: a member refused on the way refuses the whole."""
    now = now or utcnow()
    if not can_decide_point(actor, point):
        raise DecisionError(_l("This point is not yours to decide."))
    source = session.scalar(select(Decision).where(Decision.point_id == point.id))
    if source is None or source.outcome is None:
        raise DecisionError(_l("Write the decision before giving it to the group."))
    problems = problems_of(session, source, settings_of(session, point.observation.round))
    if problems:
        raise DecisionError(problems[0])
    plan = plan_group(session, point, actor=actor)
    if plan is None:
        raise DecisionError(_l("This observation is in no confirmed group."))
    if not plan.targets:
        raise DecisionError(_l("No other member of the group can take this decision."))
    linked = links_.links_of(session, source)
    existing = {
        d.point_id: d
        for d in session.scalars(
            select(Decision).where(Decision.point_id.in_([t.id for t in plan.targets]))
        )
    }
    for target in plan.targets:
        draft = Draft(
            outcome=source.outcome,
            reasoning=source.reasoning,
            seen_lock=existing[target.id].lock_version if target.id in existing else None,
            change_ids=[link.change_id for link in linked if link.change_id and not link.span_id],
            span_ids=[link.span_id for link in linked if link.span_id],
            paragraph_id=next((link.paragraph_id for link in linked if link.paragraph_id), None),
        )
        decision = save(session, target, draft, actor=actor, now=now)
        if source.published:
            _publish_one(session, decision, actor=actor, now=now)
    _flush(session)
    if source.published:
        _after_publication(session, [t.observation for t in plan.targets], actor=actor, now=now)
    record(
        session,
        "decision.group_applied",
        actor=actor,
        obj=source,
        group_id=plan.group.id,
        applied=len(plan.targets),
        set_aside=len(plan.set_aside),
    )
    return plan
