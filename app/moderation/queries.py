"""The read side of moderation: a round's queue, filtered, searched, sorted and paginated.

Filters are data (:class:`QueueFilter`), read from a query string by :meth:`QueueFilter.from_args`
(every value checked and bounded; a value that is not one is reported, never a 500) and turned
into one SELECT by :func:`queue_select`. A page costs two statements (count, rows) whatever the
size of the round; bulk actions select "every result of the filter" with the same SELECT.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import ceil

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from app.core.i18n import lazy_gettext as _l
from app.moderation import search
from app.moderation.models import (
    GroupMember,
    GroupState,
    ObservationTag,
    PointAssignment,
    PointTag,
    SimilarityGroup,
    Triage,
    TriageState,
)
from app.observations.models import Attachment, Channel, Observation, ObservationKind, Point
from app.rounds.models import Round
from app.stakeholders.models import Organisation, OrganisationKind, group_memberships

PAGE_SIZES = (25, 50, 100)
PAGE_MAX = 100_000

#: Sort keys: what the moderator picks, and the columns it orders by (the id breaks ties).
SORTS = {
    "waiting": (Observation.received_at.asc(), Observation.id.asc()),
    "newest": (Observation.received_at.desc(), Observation.id.desc()),
    "protocol": (Observation.protocol_number.asc(),),
    "organisation": (Organisation.name.asc(), Observation.protocol_number.asc()),
    "title": (Observation.title.asc(), Observation.id.asc()),
}

SORT_LABELS = {
    "waiting": _l("Waiting longest first"),
    "newest": _l("Newest first"),
    "protocol": _l("Protocol number"),
    "organisation": _l("Organisation"),
    "title": _l("Title"),
}


def _has_attachments():
    return exists().where(Attachment.observation_id == Observation.id)


@dataclass(frozen=True)
class QueueFilter:
    states: tuple[TriageState, ...] = ()
    #: Sections of the round's version (a section stands for itself and its subsections: the
    #: caller expands it with the tree).
    section_ids: tuple[int, ...] = ()
    #: The plan as a whole (observations anchored to no section).
    general: bool = False
    kind: ObservationKind | None = None
    organisation_kind: OrganisationKind | None = None
    group_id: int | None = None
    zone_id: int | None = None
    channel: Channel | None = None
    late: bool | None = None
    has_attachments: bool | None = None
    tag_id: int | None = None
    #: Observations with a point given to this editor.
    assignee_id: int | None = None
    #: In a proposed or confirmed group of similar observations (app.moderation.grouping).
    in_group: bool | None = None
    words: tuple[str, ...] = ()
    sort: str = "waiting"

    @property
    def is_empty(self) -> bool:
        return self == QueueFilter(sort=self.sort)

    @classmethod
    def from_args(cls, args) -> tuple[QueueFilter, list]:
        """The filter a query string asks for, and the problems found in it (each value that
        is not one is left out and named)."""
        problems: list = []
        values: dict = {}

        def choice(name, enum_cls):
            raw = args.get(name, "")
            if not raw:
                return None
            try:
                return enum_cls(raw)
            except ValueError:
                problems.append(_l("Unknown value for a filter: it was left out."))
                return None

        states = []
        for raw in args.getlist("state")[:10]:
            try:
                states.append(TriageState(raw))
            except ValueError:
                problems.append(_l("Unknown value for a filter: it was left out."))
        values["states"] = tuple(dict.fromkeys(states))
        values["kind"] = choice("kind", ObservationKind)
        values["organisation_kind"] = choice("organisation_kind", OrganisationKind)
        values["channel"] = choice("channel", Channel)
        for name in ("group_id", "zone_id", "tag_id", "assignee_id"):
            values[name] = _bounded_int(args.get(name), problems)
        section = args.get("section", "")
        if section == "general":
            values["general"] = True
        elif section:
            number = _bounded_int(section, problems)
            values["section_ids"] = (number,) if number is not None else ()
        for name in ("late", "has_attachments", "in_group"):
            raw = args.get(name, "")
            if raw in ("yes", "no"):
                values[name] = raw == "yes"
            elif raw:
                problems.append(_l("Unknown value for a filter: it was left out."))
        sort = args.get("sort", "waiting")
        values["sort"] = sort if sort in SORTS else "waiting"
        try:
            values["words"] = tuple(search.terms(args.get("q", "")))
        except search.SearchError as error:
            problems.append(error.message)
        return cls(**values), list(dict.fromkeys(problems))

    def with_sections(self, ids) -> QueueFilter:
        return replace(self, section_ids=tuple(ids))


def _bounded_int(raw: str | None, problems: list) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if raw.isdigit() and len(raw) < 10:
        return int(raw)
    problems.append(_l("Unknown value for a filter: it was left out."))
    return None


def queue_select(session: Session, round_: Round, chosen: QueueFilter) -> Select:
    """The observations of the round (registered: submitted or withdrawn) that the filter
    keeps, each with its triage, in the filter's order."""
    query = (
        select(Observation)
        .join(Triage, Triage.observation_id == Observation.id)
        .outerjoin(Organisation, Organisation.id == Observation.organisation_id)
        .where(Observation.round_id == round_.id, Observation.protocol_number.is_not(None))
    )
    if chosen.states:
        query = query.where(Triage.state.in_(chosen.states))
    if chosen.general and not chosen.section_ids:
        query = query.where(Observation.section_id.is_(None))
    elif chosen.section_ids:
        query = query.where(Observation.section_id.in_(chosen.section_ids))
    if chosen.kind is not None:
        query = query.where(Observation.kind == chosen.kind)
    if chosen.organisation_kind is not None:
        query = query.where(Organisation.kind == chosen.organisation_kind)
    if chosen.zone_id is not None:
        query = query.where(Organisation.zone_id == chosen.zone_id)
    if chosen.group_id is not None:
        query = query.where(
            exists().where(
                group_memberships.c.organisation_id == Observation.organisation_id,
                group_memberships.c.group_id == chosen.group_id,
            )
        )
    if chosen.channel is not None:
        query = query.where(Observation.channel == chosen.channel)
    if chosen.late is not None:
        query = query.where(Observation.late.is_(chosen.late))
    if chosen.has_attachments is not None:
        has = _has_attachments()
        query = query.where(has if chosen.has_attachments else ~has)
    if chosen.tag_id is not None:  # on the observation, or on one of its points
        query = query.where(
            exists().where(
                ObservationTag.observation_id == Observation.id,
                ObservationTag.tag_id == chosen.tag_id,
            )
            | exists().where(
                PointTag.point_id == Point.id,
                Point.observation_id == Observation.id,
                PointTag.tag_id == chosen.tag_id,
            )
        )
    if chosen.assignee_id is not None:
        query = query.where(
            exists().where(
                PointAssignment.point_id == Point.id,
                Point.observation_id == Observation.id,
                PointAssignment.editor_id == chosen.assignee_id,
            )
        )
    if chosen.in_group is not None:
        grouped = exists().where(
            GroupMember.observation_id == Observation.id,
            GroupMember.group_id == SimilarityGroup.id,
            SimilarityGroup.state != GroupState.DISMISSED,
        )
        query = query.where(grouped if chosen.in_group else ~grouped)
    if chosen.words:
        query = query.where(Observation.id.in_(search.matching_ids(session, list(chosen.words))))
    return query.order_by(*SORTS[chosen.sort])


@dataclass
class QueueRow:
    observation: Observation
    triage: Triage
    has_attachments: bool


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge=1, left_current=2, right_current=2, right_edge=1):
        last = 0
        for number in range(1, self.pages + 1):
            if (
                number <= left_edge
                or self.page - left_current <= number <= self.page + right_current
                or number > self.pages - right_edge
            ):
                if last + 1 != number:
                    yield None
                yield number
                last = number


def queue_page(
    session: Session, round_: Round, chosen: QueueFilter, *, page: int = 1, per_page: int = 50
) -> QueuePage:
    """One page of the queue: two statements (the count, then the rows with their triage,
    organisation, author and whether they have attachments)."""
    per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZES[1]
    page = min(max(1, page), PAGE_MAX)
    query = queue_select(session, round_, chosen)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(
        query.add_columns(Triage, _has_attachments().label("has_attachments"))
        .options(contains_eager(Observation.organisation), lazyload(Observation.round))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return QueuePage(
        rows=[QueueRow(row[0], row[1], bool(row[2])) for row in rows],
        total=total or 0,
        page=page,
        per_page=per_page,
    )


def state_counts(session: Session, round_: Round) -> dict[TriageState, int]:
    rows = session.execute(
        select(Triage.state, func.count())
        .join(Observation, Observation.id == Triage.observation_id)
        .where(Observation.round_id == round_.id)
        .group_by(Triage.state)
    ).all()
    return dict(rows)
