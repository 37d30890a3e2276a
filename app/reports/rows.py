"""The report's rows for the exports, read as columns: the same values as the report by
observation shows them (``queries.report_items`` and the publication rules of
``moderation.publication``), without building an ORM object per observation, point and
decision — the exports read every row of a round, the pages twenty observations at a time.

A chunk of :data:`CHUNK` observations in protocol order (keyset) costs a fixed number of
statements: the observations with their organisation, zone, author and triage; their active
points; the points' published decisions; the decisions' links to stored changes; the
organisations' groups not read yet; and, only when the round publishes its observations, their
hides, redactions and texts. ``tests/reports/test_export_rows.py`` checks that every row equals
the one built from the report's own items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.decisions.links import DecisionLink, published_links
from app.decisions.models import Decision, DecisionState
from app.moderation import publication
from app.moderation.models import Triage, TriageState
from app.observations.models import (
    INTAKE_CHANNELS,
    Observation,
    ObservationState,
    Point,
    PointState,
)
from app.plans.frozen import frozen_tree
from app.rounds.models import Round
from app.stakeholders.models import Group, Organisation, Zone, group_memberships

#: Observations read at a time.
CHUNK = 2000


def _observations(session: Session, round_: Round, after: int, size: int, *, with_text: bool):
    columns = [
        Observation.id,
        Observation.protocol_number,
        Observation.protocol_code,
        Observation.received_at,
        Observation.channel,
        Observation.late,
        Observation.consent_public_name,
        Observation.signatory,
        User.display_name,
        Organisation.id.label("organisation_id"),
        Organisation.name.label("organisation_name"),
        Organisation.kind,
        Zone.name.label("zone_name"),
        Triage.state.label("triage_state"),
        Triage.reason.label("triage_reason"),
    ]
    if with_text:
        columns.append(Observation.body_text)
    return session.execute(
        select(*columns)
        .join(User, User.id == Observation.author_id)
        .outerjoin(Organisation, Organisation.id == Observation.organisation_id)
        .outerjoin(Zone, Zone.id == Organisation.zone_id)
        .outerjoin(Triage, Triage.observation_id == Observation.id)
        .where(
            Observation.round_id == round_.id,
            Observation.protocol_number.is_not(None),
            Observation.state == ObservationState.SUBMITTED,
            Observation.protocol_number > after,
        )
        .order_by(Observation.protocol_number)
        .limit(size)
    ).all()


def _in_chunk(round_: Round, after: int, last: int):
    """The chunk's observations as a subquery (their protocol numbers in ``(after, last]``): no
    list of thousands of ids for the driver to bind."""
    return select(Observation.id).where(
        Observation.round_id == round_.id,
        Observation.protocol_number > after,
        Observation.protocol_number <= last,
        Observation.state == ObservationState.SUBMITTED,
    )


def _points(session: Session, ids) -> dict[int, list]:
    points: dict[int, list] = defaultdict(list)
    for row in session.execute(
        select(
            Point.id,
            Point.observation_id,
            Point.number,
            Point.section_id,
            Point.target,
            Point.excerpt_start,
            Point.excerpt_end,
            Point.summary,
        )
        .where(Point.observation_id.in_(ids), Point.state == PointState.ACTIVE)
        .order_by(Point.observation_id, Point.number)
    ):
        points[row.observation_id].append(row)
    return points


def _decisions(session: Session, ids) -> tuple[dict[int, tuple], dict[int, list]]:
    """The published decision of each point, and the change ids its links name (in order)."""
    decisions = {
        point_id: (outcome, reasoning, published_at)
        for point_id, outcome, reasoning, published_at in session.execute(
            select(Decision.point_id, Decision.outcome, Decision.reasoning, Decision.published_at)
            .join(Point, Point.id == Decision.point_id)
            .where(Point.observation_id.in_(ids), Decision.state == DecisionState.PUBLISHED)
        )
    }
    changes: dict[int, list] = defaultdict(list)
    for point_id, change_id in session.execute(published_links(ids, DecisionLink.change_id)):
        changes[point_id].append(change_id)
    return decisions, changes


def _groups(session: Session, organisation_ids: set[int], known: dict[int, list]) -> None:
    """Fill ``known`` with the groups of the organisations not in it yet, by name."""
    wanted = sorted(organisation_ids - known.keys())
    if not wanted:
        return
    for organisation_id in wanted:
        known[organisation_id] = []
    for organisation_id, name in session.execute(
        select(group_memberships.c.organisation_id, Group.name)
        .join(Group, Group.id == group_memberships.c.group_id)
        .where(group_memberships.c.organisation_id.in_(wanted))
        .order_by(group_memberships.c.organisation_id, Group.name)
    ):
        known[organisation_id].append(name)


def _texts(session: Session, observations: list, points: dict[int, list]) -> dict[int, str | None]:
    """What the public reads of each point (``publication.published_point_texts``' rules, by
    columns): nothing of an observation not admissible or hidden, nor of a hidden point; a
    point's summary when it has no excerpt; its excerpt with the redactions applied."""
    publishable = [o for o in observations if o.triage_state is not TriageState.NOT_ADMISSIBLE]
    ids = [o.id for o in publishable]
    hides = publication.hides_of(session, ids)
    redactions = publication.redactions_of(session, ids)
    texts: dict[int, str | None] = {}
    for o in publishable:
        for point in points.get(o.id, ()):
            if any(h.point_id in (None, point.id) for h in hides[o.id]):
                texts[point.id] = None
            elif point.excerpt_start is None:
                texts[point.id] = point.summary
            else:
                texts[point.id] = publication.apply_redactions(
                    o.body_text, redactions[o.id], point.excerpt_start, point.excerpt_end
                )
    return texts


def records(
    session: Session,
    round_id: int,
    *,
    draft: bool,
    columns: tuple,
    after: int = 0,
    limit: int | None = None,
) -> Iterator[dict]:
    """Every row of the round's report, as a dict keyed by ``columns``, in protocol order: of
    the observations numbered after ``after``, at most ``limit`` of them (all by default)."""
    round_ = session.get(Round, round_id)
    sections = {
        node.section.id: node.section for node in frozen_tree(session, round_.version).walk()
    }
    publishes = publication.round_publishes(round_)
    groups: dict[int, list] = {}
    empty = dict.fromkeys(columns)
    left = limit
    while left is None or left > 0:
        size = CHUNK if left is None else min(CHUNK, left)
        observations = _observations(session, round_, after, size, with_text=publishes)
        if not observations:
            return
        if left is not None:
            left -= len(observations)
        ids = _in_chunk(round_, after, observations[-1].protocol_number)
        after = observations[-1].protocol_number
        points = _points(session, ids)
        decisions, changes = _decisions(session, ids)
        _groups(
            session,
            {o.organisation_id for o in observations if o.organisation_id is not None},
            groups,
        )
        texts = _texts(session, observations, points) if publishes else {}
        for o in observations:
            organisation_id = o.organisation_id
            refused = o.triage_state is TriageState.NOT_ADMISSIBLE
            if not o.consent_public_name:
                name = None
            elif o.channel in INTAKE_CHANNELS:
                name = o.signatory or None
            else:
                name = o.display_name
            common = {
                "draft": draft,
                "protocol": o.protocol_code,
                "received_at": o.received_at.isoformat() if o.received_at else None,
                "channel": o.channel.value,
                "late": o.late,
                "organisation": o.organisation_name if organisation_id is not None else None,
                "organisation_kind": o.kind.value if organisation_id is not None else None,
                "zone": o.zone_name,
                "groups": groups[organisation_id] if organisation_id is not None else [],
                "name": name,
                "admissible": not refused,
                "not_admissible_reason": o.triage_reason if refused else None,
            }
            mine = points.get(o.id)
            if refused or not mine:
                yield {**empty, **common, "changes": []}
                continue
            for point in mine:
                section = sections.get(point.section_id)
                outcome, reasoning, published_at = decisions.get(point.id, (None, None, None))
                yield {
                    **common,
                    "point": Point.label_of(o.protocol_code, point.number),
                    "section_number": section.number if section else None,
                    "section_title": section.title if section else None,
                    "anchor": str(point.target),
                    "text": texts.get(point.id),
                    "outcome": outcome.value if outcome else None,
                    "reasoning": reasoning,
                    "decided_at": published_at.isoformat() if published_at else None,
                    "changes": list(changes.get(point.id, ())),
                }
