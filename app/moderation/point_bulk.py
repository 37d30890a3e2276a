"""Bulk actions on points (ticked on the item page or anywhere a list of points is shown): tag,
untag, give to plan editors, withdraw them. All or nothing, with the preview and the stale
detection of :mod:`app.moderation.bulk`: each ticked point travels with the lock of its
observation as the page showed it; a point whose observation changed since, a retired point,
or (to assign) an observation not admitted stands in the way, and then nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import operations
from app.moderation.bulk import BulkPlan
from app.moderation.models import (
    ModerationError,
    PointAssignment,
    PointTag,
    Tag,
    Triage,
    TriageState,
)
from app.moderation.permissions import can_moderate
from app.moderation.points import editors, follow_assignments
from app.observations.models import Observation, ObservationState, Point, PointState
from app.rounds.models import Round

POINT_ACTIONS = ("tag", "untag", "assign", "unassign")
ACTION_LABELS = {
    "tag": _l("Tag the points"),
    "untag": _l("Remove the tag from the points"),
    "assign": _l("Give the points to the editors chosen"),
    "unassign": _l("Take the points from the editors chosen"),
}
POINTS_MAX = 2_000


def plan_point_bulk(
    session: Session,
    round_: Round,
    *,
    action: str,
    actor: User,
    selection: dict[int, int],
    tag_id: int | None = None,
    editor_ids: Iterable[int] = (),
    apply: bool,
    now: datetime | None = None,
) -> BulkPlan:
    """Preview (``apply`` False) or apply; ``selection`` maps point ids to the lock version
    of their observation the page showed. ``to_change`` and ``unchanged`` hold point ids."""
    if not can_moderate(actor, round_):
        raise ModerationError(_l("You may not do this in this round."))
    if action not in POINT_ACTIONS:
        raise ModerationError(_l("Choose what to do with the points."), "action")
    if not selection:
        raise ModerationError(_l("Select at least one point."), "point")
    if len(selection) > POINTS_MAX:
        raise ModerationError(_l("At most %(n)d points at once.", n=POINTS_MAX))
    tag = None
    wanted: set[int] = set()
    if action in ("tag", "untag"):
        tag = session.get(Tag, tag_id) if tag_id else None
        if tag is None or not tag.in_use:
            raise ModerationError(_l("Choose a tag."), "tag_id")
    else:
        wanted = set(editor_ids)
        if not wanted:
            raise ModerationError(_l("Choose at least one plan editor."), "editors")
        if not wanted <= {user.id for user in editors(session)}:
            raise ModerationError(_l("Points are given to plan editors only."), "editors")
    ids = list(selection)
    rows = session.execute(
        select(Point, Triage)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Point.observation_id)
        .where(Point.id.in_(ids), Observation.round_id == round_.id)
        .order_by(Observation.protocol_number, Point.number)
    ).all()
    plan = BulkPlan(action=action, missing=len(ids) - len(rows))
    if tag is not None:
        linked = set(
            session.scalars(
                select(PointTag.point_id).where(
                    PointTag.tag_id == tag.id, PointTag.point_id.in_(ids)
                )
            )
        )
    else:
        pairs = session.execute(
            select(PointAssignment.point_id, PointAssignment.editor_id).where(
                PointAssignment.point_id.in_(ids), PointAssignment.editor_id.in_(wanted)
            )
        ).all()
        given: dict[int, set[int]] = {}
        for point_id, editor_id in pairs:
            given.setdefault(point_id, set()).add(editor_id)
    triages: dict[int, Triage] = {}
    for point, triage in rows:
        label = point.label
        if selection[point.id] != triage.lock_version:
            plan.stale.append(label)
            continue
        if point.state is not PointState.ACTIVE:
            plan.blocked.append((label, _l("retired")))
            continue
        if point.observation.state is not ObservationState.SUBMITTED:
            plan.blocked.append((label, _l("withdrawn by its author")))
            continue
        if action == "assign" and triage.state not in (
            TriageState.ADMISSIBLE,
            TriageState.ASSIGNED,
        ):
            plan.blocked.append((label, _l("not admitted")))
            continue
        triages[triage.observation_id] = triage
        if tag is not None:
            done = (point.id in linked) == (action == "tag")
        elif action == "assign":
            done = given.get(point.id, set()) >= wanted
        else:
            done = not given.get(point.id)
        (plan.unchanged if done else plan.to_change).append(point.id)
    if apply and plan.can_apply:
        _apply(session, plan, rows, triages, tag, wanted, given if tag is None else {}, actor, now)
    return plan


def _apply(session, plan, rows, triages, tag, wanted, given, actor, now) -> None:
    now = now or utcnow()
    ids = plan.to_change
    if plan.action == "tag":
        session.execute(
            insert(PointTag),
            [
                {"point_id": i, "tag_id": tag.id, "tagged_by_id": actor.id, "tagged_at": now}
                for i in ids
            ],
        )
    elif plan.action == "untag":
        session.execute(
            delete(PointTag).where(PointTag.tag_id == tag.id, PointTag.point_id.in_(ids))
        )
    elif plan.action == "assign":
        session.execute(
            insert(PointAssignment),
            [
                {"point_id": i, "editor_id": e, "assigned_by_id": actor.id, "assigned_at": now}
                for i in ids
                for e in sorted(wanted - given.get(i, set()))
            ],
        )
    else:
        session.execute(
            delete(PointAssignment).where(
                PointAssignment.point_id.in_(ids), PointAssignment.editor_id.in_(wanted)
            )
        )
    touched = {point.observation_id for point, _triage in rows if point.id in set(ids)}
    for observation_id in touched:
        triages[observation_id].changed_at = now
    operations.flush_guarded(session)
    record(
        session,
        f"point.bulk_{plan.action}",
        actor=actor,
        object_type="points",
        tag_id=tag.id if tag is not None else None,
        editor_ids=sorted(wanted),
        changed=len(ids),
        unchanged=len(plan.unchanged),
        point_ids=ids,
    )
    if plan.action in ("assign", "unassign"):
        for observation_id in sorted(touched):
            follow_assignments(session, triages[observation_id], actor=actor, now=now)
    plan.applied = True
