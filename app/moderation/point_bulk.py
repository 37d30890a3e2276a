"""Bulk actions on points: tag, untag, give to plan editors, take them back; on the points
ticked on an item page, or on every point of the observations a queue filter finds. All or
nothing, with the shape of :mod:`app.moderation.bulk_core`: a ticked point travels with the
lock of its observation as the page showed it; for a filter, a point whose observation changed
after the queue was shown is stale, and the confirmation carries the fingerprint of the set the
preview showed (nothing changes if the filter now finds another set). A retired point, a
withdrawn observation or (to assign) an observation not admitted stands in the way.

Statements are bounded whatever the number of points (at most :data:`POINTS_MAX`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, exists, insert, literal, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import bulk_core, operations, queries
from app.moderation.bulk_core import CHANGE, KEEP, BulkPlan, Item
from app.moderation.models import (
    ModerationError,
    PointAssignment,
    PointTag,
    Triage,
    TriageState,
)
from app.moderation.points import editors, follow_many_assignments
from app.observations.models import Observation, ObservationState, Point, PointState
from app.rounds.models import Round

POINT_ACTIONS = ("tag", "untag", "assign", "unassign")
ACTION_LABELS = {
    "tag": _l("Tag the points"),
    "untag": _l("Remove the tag from the points"),
    "assign": _l("Give the points to the editors chosen"),
    "unassign": _l("Take the points from the editors chosen"),
}
#: At most this many points in one bulk action (ticked, or every point of a filter).
POINTS_MAX = 5_000


def plan_point_bulk(
    session: Session,
    round_: Round,
    *,
    action: str,
    actor: User,
    selection: dict[int, int] | None = None,
    chosen: queries.QueueFilter | None = None,
    shown_at: datetime | None = None,
    fingerprint: str | None = None,
    tag_id: int | None = None,
    editor_ids: Iterable[int] = (),
    apply: bool,
    now: datetime | None = None,
) -> BulkPlan:
    """Preview (``apply`` False) or apply. Either ``selection`` maps point ids to the lock
    version of their observation the page showed, or ``chosen`` is the queue's filter (its
    observations' active points) with ``shown_at``, the queue page's time; ``fingerprint`` is
    the preview's. ``to_change`` and ``unchanged`` hold point ids."""
    bulk_core.check_actor(
        actor, round_, action, POINT_ACTIONS, _l("Choose what to do with the points.")
    )
    tag = None
    wanted: set[int] = set()
    if action in ("tag", "untag"):
        tag = bulk_core.chosen_tag(session, tag_id, "point_tag_id")
    else:
        wanted = set(editor_ids)
        if not wanted:
            raise ModerationError(_l("Choose at least one plan editor."), "editors")
        if not wanted <= {user.id for user in editors(session)}:
            raise ModerationError(_l("Points are given to plan editors only."), "editors")
    if selection is not None:
        if not selection:
            raise ModerationError(_l("Select at least one point."), "point")
        if len(selection) > POINTS_MAX:
            raise ModerationError(_l("At most %(n)d points at once.", n=POINTS_MAX))
        scope = select(Point.id).where(Point.id.in_(list(selection)))
    else:
        if shown_at is None:
            raise ModerationError(_l("Reload the queue and try again."))
        observations = queries.queue_select(session, round_, chosen or queries.QueueFilter())
        scope = select(Point.id).where(
            Point.observation_id.in_(observations.with_only_columns(Observation.id).order_by(None)),
            Point.state == PointState.ACTIVE,
        )
    rows = session.execute(
        select(
            Point.id,
            Point.number,
            Point.state,
            Observation.protocol_code,
            Observation.state.label("observation_state"),
            Triage,
        )
        .select_from(Point)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Point.observation_id)
        .where(Point.id.in_(scope), Observation.round_id == round_.id)
        .order_by(Observation.protocol_number, Point.number)
        .limit(POINTS_MAX + 1)
    ).all()
    if len(rows) > POINTS_MAX:
        raise ModerationError(_l("At most %(n)d points at once: narrow the filter.", n=POINTS_MAX))
    plan = BulkPlan(action=action, missing=len(selection) - len(rows) if selection else 0)
    linked: set[int] = set()
    given: dict[int, set[int]] = {}
    if tag is not None:
        linked = set(
            session.scalars(
                select(PointTag.point_id).where(
                    PointTag.tag_id == tag.id, PointTag.point_id.in_(scope)
                )
            )
        )
    else:
        for point_id, editor_id in session.execute(
            select(PointAssignment.point_id, PointAssignment.editor_id).where(
                PointAssignment.point_id.in_(scope), PointAssignment.editor_id.in_(wanted)
            )
        ):
            given.setdefault(point_id, set()).add(editor_id)
    points = {row.id: row for row in rows}

    def verdict(item: Item):
        point = points[item.id]
        triage = point.Triage
        if point.state is not PointState.ACTIVE:
            return _l("retired")
        if point.observation_state is not ObservationState.SUBMITTED:
            return _l("withdrawn by its author")
        if action == "assign" and triage.state not in (
            TriageState.ADMISSIBLE,
            TriageState.ASSIGNED,
        ):
            return _l("not admitted")
        if tag is not None:
            done = (point.id in linked) == (action == "tag")
        elif action == "assign":
            done = given.get(point.id, set()) >= wanted
        else:
            done = not given.get(point.id)
        return KEEP if done else CHANGE

    items = [
        Item(
            row.id,
            Point.label_of(row.protocol_code, row.number),
            row.Triage.lock_version,
            row.Triage.changed_at,
        )
        for row in rows
    ]
    return bulk_core.settle(
        plan,
        items,
        verdict,
        seen_locks=selection,
        shown_at=shown_at,
        seen_fingerprint=fingerprint,
        write=(lambda: _apply(session, plan, points, tag, wanted, actor, now or utcnow()))
        if apply
        else None,
    )


def _apply(session, plan, points, tag, wanted, actor, now) -> None:
    """Bounded: one statement per kind of row written (per editor chosen, to assign)."""
    ids = plan.to_change
    chosen = Point.id.in_(ids)
    if plan.action == "tag":
        session.execute(
            insert(PointTag).from_select(
                ["point_id", "tag_id", "tagged_by_id", "tagged_at"],
                select(
                    Point.id,
                    literal(tag.id),
                    literal(actor.id),
                    literal(now, PointTag.tagged_at.type),
                ).where(chosen),
            )
        )
    elif plan.action == "untag":
        session.execute(
            delete(PointTag).where(PointTag.tag_id == tag.id, PointTag.point_id.in_(ids))
        )
    elif plan.action == "assign":
        for editor_id in sorted(wanted):
            already = exists().where(
                PointAssignment.point_id == Point.id, PointAssignment.editor_id == editor_id
            )
            session.execute(
                insert(PointAssignment).from_select(
                    ["point_id", "editor_id", "assigned_by_id", "assigned_at"],
                    select(
                        Point.id,
                        literal(editor_id),
                        literal(actor.id),
                        literal(now, PointAssignment.assigned_at.type),
                    ).where(chosen, ~already),
                )
            )
    else:
        session.execute(
            delete(PointAssignment).where(
                PointAssignment.point_id.in_(ids), PointAssignment.editor_id.in_(wanted)
            )
        )
    touched = {points[i].Triage.observation_id: points[i].Triage for i in ids}
    operations.touch_many(session, touched.values(), now=now)
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
        follow_many_assignments(session, touched.values(), actor=actor, now=now)
