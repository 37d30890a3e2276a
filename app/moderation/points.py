"""Moderation on points: their tags, and their assignment to plan editors.

The observation's triage follows its points: the first point assigned moves it from
admissible to assigned, the last assignment withdrawn moves it back. Each change moves the
observation's lock, like every other moderation change to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.accounts.models import Role, User, UserRole
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import operations
from app.moderation.models import (
    ModerationError,
    PointAssignment,
    PointTag,
    Tag,
    Triage,
    TriageState,
)
from app.moderation.permissions import can_moderate
from app.moderation.tags import grouped, sync_links, usable_tags
from app.observations.models import Observation, Point, PointState
from app.rounds.models import Round


def _check(triage: Triage, point: Point, actor: User, seen_lock: int | None) -> None:
    if point.observation_id != triage.observation_id or point.state is not PointState.ACTIVE:
        raise ModerationError(_l("This point is not one of this observation's."))
    if not can_moderate(actor, triage.observation.round):
        raise ModerationError(_l("You may not do this in this round."))
    operations.check_lock(triage, seen_lock)


def active_points(session: Session, observation_ids: Iterable[int]) -> dict[int, list[Point]]:
    ids = list(observation_ids)
    result: dict[int, list[Point]] = {i: [] for i in ids}
    for point in session.scalars(
        select(Point)
        .where(Point.observation_id.in_(ids), Point.state == PointState.ACTIVE)
        .order_by(Point.observation_id, Point.number)
    ):
        result[point.observation_id].append(point)
    return result


def set_point_tags(
    session: Session,
    triage: Triage,
    point: Point,
    tag_ids: Iterable[int],
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> dict[str, list[int]]:
    _check(triage, point, actor, seen_lock)
    now = now or utcnow()
    added, removed = sync_links(
        session,
        PointTag,
        {"point_id": point.id},
        "tag_id",
        {tag.id for tag in usable_tags(session, tag_ids)},
        {"tagged_by_id": actor.id, "tagged_at": now},
    )
    if added or removed:
        triage.changed_at = now
        operations.flush_guarded(session)
        record(session, "point.tags_changed", actor=actor, obj=point, added=added, removed=removed)
    return {"added": added, "removed": removed}


def editors(session: Session) -> list[User]:
    """Who can be given points: active plan editors (and administrators, who edit too)."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                exists().where(
                    UserRole.user_id == User.id, UserRole.role.in_((Role.EDITOR, Role.ADMIN))
                ),
            )
            .order_by(User.display_name, User.id)
        )
    )


def set_assignees(
    session: Session,
    triage: Triage,
    point: Point,
    editor_ids: Iterable[int],
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> dict[str, list[int]]:
    """Give the point to exactly these editors; the triage follows (assigned / admissible)."""
    _check(triage, point, actor, seen_lock)
    now = now or utcnow()
    wanted = set(editor_ids)
    allowed = {user.id for user in editors(session)}
    if not wanted <= allowed:
        raise ModerationError(_l("Points are given to plan editors only."), "editors")
    if wanted and triage.state not in (TriageState.ADMISSIBLE, TriageState.ASSIGNED):
        raise ModerationError(_l("Admit the observation before assigning its points."))
    added, removed = sync_links(
        session,
        PointAssignment,
        {"point_id": point.id},
        "editor_id",
        wanted,
        {"assigned_by_id": actor.id, "assigned_at": now},
    )
    if not (added or removed):
        return {"added": [], "removed": []}
    triage.changed_at = now
    operations.flush_guarded(session)
    record(session, "point.assignees_changed", actor=actor, obj=point, added=added, removed=removed)
    follow_assignments(session, triage, actor=actor, now=now)
    return {"added": added, "removed": removed}


def follow_assignments(session: Session, triage: Triage, *, actor: User, now: datetime) -> None:
    """Move the triage to assigned when a point of it is given to an editor, back to
    admissible when none is (after a change to its points' assignees or to its points)."""
    follow_many_assignments(session, [triage], actor=actor, now=now)


def follow_many_assignments(
    session: Session, triages: Iterable[Triage], *, actor: User, now: datetime
) -> None:
    """:func:`follow_assignments` for many observations, in statements bounded whatever their
    number (one to find those with a point given, at most one flush per direction)."""
    triages = list(triages)
    ids = [triage.observation_id for triage in triages]
    assigned = set(
        session.scalars(
            select(Point.observation_id)
            .join(PointAssignment, PointAssignment.point_id == Point.id)
            .where(Point.observation_id.in_(ids), Point.state == PointState.ACTIVE)
            .distinct()
        )
    )
    give = [
        t for t in triages if t.observation_id in assigned and t.state is TriageState.ADMISSIBLE
    ]
    back = [
        t for t in triages if t.observation_id not in assigned and t.state is TriageState.ASSIGNED
    ]
    for action, moved in (("assign", give), ("unassign", back)):
        if moved:
            operations.move_many(session, moved, action, actor=actor, reason=None, now=now)


def assignees_of(session: Session, point_ids: Iterable[int]) -> dict[int, list[User]]:
    ids = list(point_ids)
    return grouped(
        session,
        select(PointAssignment.point_id, User)
        .join(User, User.id == PointAssignment.editor_id)
        .where(PointAssignment.point_id.in_(ids))
        .order_by(User.display_name, User.id),
        ids,
    )


def point_tags_of(session: Session, point_ids: Iterable[int]) -> dict[int, list[Tag]]:
    ids = list(point_ids)
    return grouped(
        session,
        select(PointTag.point_id, Tag)
        .join(Tag, Tag.id == PointTag.tag_id)
        .where(PointTag.point_id.in_(ids))
        .order_by(Tag.family, Tag.name_key),
        ids,
    )


# My assignments ----------------------------------------------------------------------------


def assignment_counts(session: Session, editor: User) -> list[tuple[Round, int, int]]:
    """Per round: (round, points assigned to the editor, of which still undecided)."""
    rows = session.execute(
        select(
            Observation.round_id,
            func.count(),
            func.count().filter(Triage.state != TriageState.DECIDED),
        )
        .select_from(PointAssignment)
        .join(Point, Point.id == PointAssignment.point_id)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Observation.id)
        .where(PointAssignment.editor_id == editor.id, Point.state == PointState.ACTIVE)
        .group_by(Observation.round_id)
    ).all()
    rounds = {
        r.id: r
        for r in session.scalars(select(Round).where(Round.id.in_([row[0] for row in rows])))
    }
    return sorted(
        ((rounds[round_id], total, open_) for round_id, total, open_ in rows),
        key=lambda item: item[0].title,
    )


def my_points(session: Session, editor: User, *, limit: int = 200) -> list[Point]:
    """The editor's points, waiting longest first (bounded: the counts say how many)."""
    return list(
        session.scalars(
            select(Point)
            .join(PointAssignment, PointAssignment.point_id == Point.id)
            .join(Triage, Triage.observation_id == Point.observation_id)
            .where(
                PointAssignment.editor_id == editor.id,
                Point.state == PointState.ACTIVE,
                Triage.state != TriageState.DECIDED,
            )
            .order_by(PointAssignment.assigned_at, Point.id)
            .limit(limit)
        )
    )
