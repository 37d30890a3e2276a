"""The public form of observations and their points: the one place other domains ask.

For a round whose observations become public after the close (``Round.publish_after_close``),
the public reads each observation's text with its redactions applied (``[omissis]`` in place of
each redacted range, see :mod:`app.moderation.redaction`); an observation or a point hidden by a
moderator, withdrawn, or not admissible is not published at all. Staff keep reading the
original everywhere else.

Call :func:`published_text` / :func:`published_point_text` for one item, and
:func:`published_texts` / :func:`published_point_texts` for a list (a fixed number of
statements whatever its length); :func:`public_name` says whose name may be shown;
:func:`public_page` is the public list itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, or_, select
from sqlalchemy.orm import Session

from app.core.pagination import paginate
from app.moderation.models import PublicationHide, Redaction, Triage, TriageState
from app.moderation.permissions import AFTER_CLOSE
from app.observations.models import (
    INTAKE_CHANNELS,
    Observation,
    ObservationState,
    Point,
    PointState,
)
from app.plans.tree import VersionTree
from app.rounds.models import Round

PUBLIC_PAGE_SIZE = 50
_CHUNK = 500


def round_publishes(round_: Round) -> bool:
    """Whether the round's observations are public now (it publishes them, and it closed)."""
    return round_.publish_after_close and round_.state in AFTER_CLOSE


def apply_redactions(
    text: str, redactions: Iterable[Redaction], start: int = 0, end: int | None = None
) -> str:
    """``text[start:end]`` with every redacted range in it replaced (a redaction reaching
    past either end replaces the part inside)."""
    end = len(text) if end is None else end
    pieces, position = [], start
    for redaction in sorted(redactions, key=lambda r: r.start_offset):
        a, b = max(redaction.start_offset, start), min(redaction.end_offset, end)
        if a >= b:
            continue
        pieces += [text[position:a], redaction.replacement]
        position = b
    pieces.append(text[position:end])
    return "".join(pieces)


def _chunks(ids: Sequence[int]):
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def redactions_of(session: Session, observation_ids: Iterable[int]) -> dict[int, list[Redaction]]:
    """The active redactions of each observation, in text order."""
    ids = sorted(set(observation_ids))
    result: dict[int, list[Redaction]] = defaultdict(list)
    for chunk in _chunks(ids):
        for redaction in session.scalars(
            select(Redaction)
            .where(Redaction.observation_id.in_(chunk), Redaction.lifted_at.is_(None))
            .order_by(Redaction.observation_id, Redaction.start_offset)
        ):
            result[redaction.observation_id].append(redaction)
    return result


def hides_of(session: Session, observation_ids: Iterable[int]) -> dict[int, list[PublicationHide]]:
    """The active hides of each observation (``point_id`` None: the whole observation)."""
    ids = sorted(set(observation_ids))
    result: dict[int, list[PublicationHide]] = defaultdict(list)
    for chunk in _chunks(ids):
        for hide in session.scalars(
            select(PublicationHide)
            .where(PublicationHide.observation_id.in_(chunk), PublicationHide.lifted_at.is_(None))
            .order_by(PublicationHide.id)
        ):
            result[hide.observation_id].append(hide)
    return result


def _publishable(session: Session, observations: Sequence[Observation]) -> set[int]:
    """Which of these are published at all (round public now, submitted, not hidden, not
    marked not admissible): one statement per 500."""
    candidates = [
        o.id
        for o in observations
        if round_publishes(o.round) and o.state is ObservationState.SUBMITTED
    ]
    refused = set()
    for chunk in _chunks(candidates):
        refused |= set(
            session.scalars(
                select(Triage.observation_id).where(
                    Triage.observation_id.in_(chunk),
                    Triage.state == TriageState.NOT_ADMISSIBLE,
                )
            )
        )
    return set(candidates) - refused


def published_texts(session: Session, observations: Sequence[Observation]) -> dict[int, str | None]:
    """For each observation: the text the public reads (redactions applied), or None when it
    is not published (hidden, withdrawn, not admissible, or its round not public now)."""
    publishable = _publishable(session, observations)
    hidden = hides_of(session, publishable)
    redactions = redactions_of(session, publishable)
    return {
        o.id: apply_redactions(o.body_text, redactions[o.id])
        if o.id in publishable and not any(h.point_id is None for h in hidden[o.id])
        else None
        for o in observations
    }


def published_text(session: Session, observation: Observation) -> str | None:
    """The public form of one observation's text (see :func:`published_texts`)."""
    return published_texts(session, [observation])[observation.id]


def published_point_texts(session: Session, points: Sequence[Point]) -> dict[int, str | None]:
    """For each point: what the public reads of it (its excerpt with the redactions applied,
    or its summary when it has no excerpt), or None when it is not published (retired, hidden
    itself, or its observation not published)."""
    observations = {p.observation_id: p.observation for p in points}
    publishable = _publishable(session, list(observations.values()))
    hidden = hides_of(session, publishable)
    redactions = redactions_of(session, publishable)
    result: dict[int, str | None] = {}
    for point in points:
        hides = hidden[point.observation_id]
        if (
            point.observation_id not in publishable
            or point.state is not PointState.ACTIVE
            or any(h.point_id in (None, point.id) for h in hides)
        ):
            result[point.id] = None
        elif point.excerpt_start is None:
            result[point.id] = point.summary
        else:
            result[point.id] = apply_redactions(
                point.observation.body_text,
                redactions[point.observation_id],
                point.excerpt_start,
                point.excerpt_end,
            )
    return result


def published_point_text(session: Session, point: Point) -> str | None:
    """The public form of one point (see :func:`published_point_texts`)."""
    return published_point_texts(session, [point])[point.id]


def public_name(observation: Observation) -> str | None:
    """The referent's name, only if they agreed to its publication: the signatory for what
    staff recorded from a PEC, letter or meeting, the author otherwise."""
    if not observation.consent_public_name:
        return None
    if observation.channel in INTAKE_CHANNELS:
        return observation.signatory or None
    return observation.author.display_name


# The public list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicItem:
    point: Point
    text: str
    section_id: int | None
    name: str | None


def _not_hidden():
    return ~exists().where(
        PublicationHide.observation_id == Point.observation_id,
        PublicationHide.lifted_at.is_(None),
        or_(PublicationHide.point_id.is_(None), PublicationHide.point_id == Point.id),
    )


def public_select(round_: Round, tree: VersionTree, section_ids: Sequence[int] | None = None):
    """The round's published points in the order of the text (plan as a whole first), then
    by protocol number and point number."""
    order = {node.section.id: i for i, node in enumerate(tree.walk())}
    query = (
        select(Point)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Observation.id)
        .where(
            Observation.round_id == round_.id,
            Observation.state == ObservationState.SUBMITTED,
            Triage.state != TriageState.NOT_ADMISSIBLE,
            Point.state == PointState.ACTIVE,
            _not_hidden(),
        )
        .order_by(
            case(order, value=Point.section_id, else_=-1) if order else Point.section_id,
            Observation.protocol_number,
            Point.number,
        )
    )
    if section_ids is not None:
        query = query.where(and_(Point.section_id.in_(list(section_ids))))
    return query


def public_page(
    session: Session,
    round_: Round,
    tree: VersionTree,
    *,
    section_ids: Sequence[int] | None = None,
    per_page: int = PUBLIC_PAGE_SIZE,
):
    """One page of the public list (a ``Pagination`` whose ``items`` are :class:`PublicItem`):
    a count, the page, and the page's redactions, whatever the round's size."""
    if not round_publishes(round_):
        raise ValueError("this round is not public")
    pagination = paginate(public_select(round_, tree, section_ids), per_page=per_page)
    points = list(pagination.items)
    redactions = redactions_of(session, {p.observation_id for p in points})
    items = []
    for point in points:
        text = (
            point.summary
            if point.excerpt_start is None
            else apply_redactions(
                point.observation.body_text,
                redactions[point.observation_id],
                point.excerpt_start,
                point.excerpt_end,
            )
        )
        items.append(
            PublicItem(point, text or "", point.section_id, public_name(point.observation))
        )
    pagination.items = items
    return pagination
