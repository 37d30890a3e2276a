"""Splitting an observation into numbered points, and correcting a split.

A split is the whole list of points the observation should have: each a character range of its
``body_text`` (an excerpt), a moderator's summary, or both, with its own anchor in the consulted
version. :func:`check_split` is the one place the rules are: ranges inside the text, not blank,
never overlapping, each point saying something; text left to no point is returned, and
:func:`split` refuses it unless the moderator said so (``accept_unassigned``).

:func:`split` keeps every active point whose range is unchanged (a new summary or anchor is an
edit of that point: its number, tags and assignees stay), retires the others (their rows and
numbers stay; their assignments end) and gives each new range the next number never given in
this observation: a number a decision, an e-mail or an export has shown is never shown again for
something else. The original text is never touched. Everything happens under the observation's
one moderation lock, and every change is audited (``point.created``, ``point.edited``,
``point.retired``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import operations, search
from app.moderation.models import ModerationError, PointAssignment, Triage, TriageState
from app.moderation.permissions import can_moderate
from app.moderation.points import follow_assignments
from app.observations.models import Observation, ObservationState, Point, PointState
from app.plans.anchors import Anchor

#: The most points one observation is split into at once.
POINTS_MAX = 100
SUMMARY_MAX = 2_000

#: A sentence ends with . ! ? ; or : followed by a space (what the split form offers to choose).
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


class SplitError(ModerationError):
    """A split that breaks a rule: nothing was changed. ``unassigned`` lists the passages no
    point covers when that is the reason."""

    def __init__(self, message, field=None, *, unassigned: Sequence[str] = ()):
        super().__init__(message, field)
        self.unassigned = list(unassigned)


@dataclass(frozen=True)
class PartSpec:
    """One point the split should have: a range of the text and/or a summary, and its anchor.

    ``point_id`` names the active point this row showed (a kept point keeps its number only if
    its range is unchanged)."""

    start: int | None
    end: int | None
    summary: str | None
    anchor: Anchor
    point_id: int | None = None


def segments(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as (start, end) offsets, spaces between them left out."""
    result = []
    position = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > position:
            result.append((position, match.start()))
        position = match.end()
    if position < len(text):
        result.append((position, len(text.rstrip())))
    return [(a, b) for a, b in result if b > a]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The range without the spaces at its ends."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def check_split(text: str, parts: Sequence[PartSpec]) -> tuple[list[PartSpec], list[str]]:
    """The parts with their ranges trimmed, and the passages of ``text`` no part covers.

    Raises :class:`SplitError` (and nothing is changed) for: no part, too many, a range
    outside the text or empty or blank, two ranges overlapping, a part with neither words of
    the text nor a summary, a summary too long."""
    if not parts:
        raise SplitError(_l("A split needs at least one point."))
    if len(parts) > POINTS_MAX:
        raise SplitError(_l("At most %(n)d points at once.", n=POINTS_MAX))
    cleaned = []
    for index, part in enumerate(parts, start=1):
        summary = " ".join((part.summary or "").split()) or None
        if summary is not None and len(summary) > SUMMARY_MAX:
            raise SplitError(
                _l("The summary of point %(n)d is too long.", n=index), f"summary-{index}"
            )
        start, end = part.start, part.end
        if (start is None) != (end is None):
            raise SplitError(_l("Point %(n)d has half a range.", n=index))
        if start is not None:
            if not 0 <= start < end <= len(text):
                raise SplitError(_l("Point %(n)d is not inside the text.", n=index))
            start, end = trim(text, start, end)
            if start == end:
                raise SplitError(_l("Point %(n)d has only spaces in it.", n=index))
        elif summary is None:
            raise SplitError(
                _l("Point %(n)d is empty: give it part of the text or a summary.", n=index)
            )
        cleaned.append(
            PartSpec(
                start if start is not None else None,
                end if start is not None else None,
                summary,
                part.anchor,
                part.point_id,
            )
        )
    ranges = sorted((p.start, p.end) for p in cleaned if p.start is not None)
    for (_a, b), (c, _d) in pairwise(ranges):
        if c < b:
            raise SplitError(_l("Two points overlap: each word of the text goes to one point."))
    unassigned = []
    position = 0
    for a, b in [*ranges, (len(text), len(text))]:
        gap = text[position:a].strip()
        if gap:
            unassigned.append(gap)
        position = max(position, b)
    return cleaned, unassigned


def _same_anchor(point: Point, anchor: Anchor) -> bool:
    return Anchor.of(point) == anchor


@dataclass
class SplitResult:
    """The observation's active points after the split, and what changed."""

    points: list[Point]
    created: list[Point]
    retired: list[Point]
    edited: list[Point]
    unassigned: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.created or self.retired or self.edited)


def split(
    session: Session,
    triage: Triage,
    parts: Sequence[PartSpec],
    *,
    actor: User,
    seen_lock: int | None,
    accept_unassigned: bool = False,
    now: datetime | None = None,
) -> SplitResult:
    """Make the observation's active points exactly ``parts`` (see the module's docstring).
    Nothing changes when a rule is broken."""
    observation: Observation = triage.observation
    if not can_moderate(actor, observation.round):
        raise ModerationError(_l("You may not do this in this round."))
    operations.check_lock(triage, seen_lock)
    if observation.state is not ObservationState.SUBMITTED:
        raise ModerationError(
            _l("%(code)s was withdrawn by its author.", code=observation.protocol_code)
        )
    if triage.state is TriageState.DECIDED:
        raise ModerationError(_l("A decided observation's points are no longer split."))
    cleaned, unassigned = check_split(observation.body_text, parts)
    if unassigned and not accept_unassigned:
        raise SplitError(
            _l(
                "Some of the text belongs to no point. Give it to a point, or confirm that it "
                "stays out of every point."
            ),
            "accept_unassigned",
            unassigned=unassigned,
        )
    now = now or utcnow()
    active = {
        p.id: p
        for p in session.scalars(
            select(Point).where(
                Point.observation_id == observation.id, Point.state == PointState.ACTIVE
            )
        )
    }
    by_range = {(p.excerpt_start, p.excerpt_end): p for p in active.values()}
    kept: dict[int, PartSpec] = {}
    new: list[PartSpec] = []
    for part in cleaned:
        point = active.get(part.point_id) if part.point_id else None
        if point is None or (point.excerpt_start, point.excerpt_end) != (part.start, part.end):
            point = by_range.get((part.start, part.end)) if part.start is not None else None
        if point is not None and point.id not in kept:
            kept[point.id] = part
        else:
            new.append(part)
    retired = [p for p in active.values() if p.id not in kept]
    edited = [
        (active[i], part)
        for i, part in kept.items()
        if active[i].summary != part.summary or not _same_anchor(active[i], part.anchor)
    ]
    if not (new or retired or edited):
        return SplitResult(sorted(active.values(), key=lambda p: p.number), [], [], [], unassigned)
    next_number = (
        session.scalar(select(func.max(Point.number)).where(Point.observation_id == observation.id))
        or 0
    ) + 1
    for point in retired:
        point.state = PointState.RETIRED
        point.retired_at = now
    for point, part in edited:
        point.summary = part.summary
        for name, value in part.anchor.fields().items():
            setattr(point, name, value)
    created = []
    for part in sorted(new, key=lambda p: (p.start is None, p.start or 0)):
        point = Point(
            observation_id=observation.id,
            number=next_number,
            excerpt_start=part.start,
            excerpt_end=part.end,
            summary=part.summary,
            created_at=now,
            **part.anchor.fields(),
        )
        next_number += 1
        session.add(point)
        created.append(point)
    triage.changed_at = now
    triage.changed_by_id = actor.id
    operations.flush_guarded(session)
    retired_ids = [p.id for p in retired]
    ended = []
    if retired_ids:
        ended = session.execute(
            select(PointAssignment.point_id, PointAssignment.editor_id).where(
                PointAssignment.point_id.in_(retired_ids)
            )
        ).all()
        session.execute(delete(PointAssignment).where(PointAssignment.point_id.in_(retired_ids)))
    for point in retired:
        record(
            session,
            "point.retired",
            actor=actor,
            obj=point,
            number=point.number,
            editors_removed=sorted(e for p, e in ended if p == point.id),
        )
    for point, part in edited:
        record(
            session,
            "point.edited",
            actor=actor,
            obj=point,
            number=point.number,
            target=point.target.value,
            summary=part.summary is not None,
        )
    for point in created:
        record(
            session,
            "point.created",
            actor=actor,
            obj=point,
            number=point.number,
            excerpt_start=point.excerpt_start,
            excerpt_end=point.excerpt_end,
            target=point.target.value,
        )
    record(
        session,
        "point.split",
        actor=actor,
        obj=observation,
        created=[p.number for p in created],
        retired=[p.number for p in retired],
        edited=[p.number for p, _part in edited],
        unassigned=len(unassigned),
    )
    follow_assignments(session, triage, actor=actor, now=now)
    session.expire(observation, ["points"])
    search.index_observation(session, observation)
    now_active = session.scalars(
        select(Point)
        .where(Point.observation_id == observation.id, Point.state == PointState.ACTIVE)
        .order_by(Point.number)
    ).all()
    return SplitResult(list(now_active), created, retired, [p for p, _ in edited], unassigned)
