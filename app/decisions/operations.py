"""What editors do with decisions. Functions flush but never commit: the caller commits once per
request, and a :class:`~app.decisions.models.DecisionError` (a refusal) means the caller rolls
back, so nothing is half done — a round's publication included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import User
from app.core.audit import record
from app.core.db import update_versioned, utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.urls import absolute_url
from app.decisions import links as links_
from app.decisions.models import (
    OUTCOME_LABELS,
    REASONING_MAX,
    TITLE_MAX,
    AnswerTemplate,
    Conflict,
    Decision,
    DecisionError,
    DecisionRevision,
    DecisionState,
    Outcome,
    RoundDecisionSettings,
)
from app.decisions.permissions import can_decide_point, can_publish_round
from app.moderation import operations as moderation
from app.moderation.models import Triage, TriageState
from app.notifications.operations import queue_email
from app.observations.models import (
    INTAKE_CHANNELS,
    Observation,
    ObservationState,
    Point,
    PointState,
)
from app.rounds.models import Round

CHANGED_MEANWHILE = _l(
    "Someone else changed this decision after you opened the page: nothing was saved. "
    "Your text is shown below beside the current one."
)

#: Triage states whose points are to be decided (admitted; assigned; already decided).
DECIDABLE = frozenset({TriageState.ADMISSIBLE, TriageState.ASSIGNED, TriageState.DECIDED})


class PublicationRefused(DecisionError):
    """A round's publication found invalid decisions: nothing was published. ``problems``
    lists them as (point label, decision id, messages)."""

    def __init__(self, message, problems: list[tuple[str, int, list[str]]]):
        super().__init__(message)
        self.problems = problems


# Settings ----------------------------------------------------------------------------------


def settings_of(session: Session, round_: Round) -> RoundDecisionSettings:
    """The round's settings, or the defaults (not added to the session) when none are stored."""
    return session.get(RoundDecisionSettings, round_.id) or RoundDecisionSettings(
        round_id=round_.id, any_editor=False, reasoning_optional=""
    )


def configure(
    session: Session,
    round_: Round,
    *,
    any_editor: bool,
    reasoning_optional: Iterable[Outcome],
    actor: User,
) -> RoundDecisionSettings:
    settings = session.get(RoundDecisionSettings, round_.id)
    if settings is None:
        settings = RoundDecisionSettings(round_id=round_.id, any_editor=False)
        settings.set_optional(())
        session.add(settings)
    before = (settings.any_editor, settings.reasoning_optional)
    settings.any_editor = bool(any_editor)
    settings.set_optional(reasoning_optional)
    after = (settings.any_editor, settings.reasoning_optional)
    session.flush()
    if before != after:
        record(
            session,
            "decision.settings_changed",
            actor=actor,
            obj=round_,
            any_editor=settings.any_editor,
            reasoning_optional=settings.reasoning_optional.split(",")
            if settings.reasoning_optional
            else [],
        )
    return settings


# Rules -------------------------------------------------------------------------------------


def problems_of(session: Session, decision: Decision, settings: RoundDecisionSettings) -> list:
    """Why ``decision`` cannot be published as it is (empty: it can)."""
    return problems_many(session, [decision], settings)[decision.id]


def problems_many(session: Session, decisions, settings: RoundDecisionSettings) -> dict:
    """:func:`problems_of` for the decisions of one round, by id, in a fixed number of
    queries."""
    decisions = list(decisions)
    linked = links_.problems_many(session, [d for d in decisions if d.outcome is not None])
    result = {}
    for decision in decisions:
        problems = []
        if decision.outcome is None:
            problems.append(_l("Choose an outcome."))
        else:
            if (
                not decision.reasoning.strip()
                and decision.outcome not in settings.optional_outcomes
            ):
                problems.append(
                    _l(
                        "Write the reasoning: an outcome “%(outcome)s” needs one in this "
                        "consultation.",
                        outcome=OUTCOME_LABELS[decision.outcome],
                    )
                )
            problems.extend(linked[decision.id])
        result[decision.id] = problems
    return result


def _decidable(session: Session, point: Point) -> Triage:
    observation = point.observation
    if point.state is not PointState.ACTIVE:
        raise DecisionError(_l("This point was taken back by moderation: it is not decided."))
    if observation.state is not ObservationState.SUBMITTED:
        raise DecisionError(
            _l("%(code)s was withdrawn by its author.", code=observation.protocol_code)
        )
    triage = session.get(Triage, observation.id)
    if triage is None or triage.state not in DECIDABLE:
        raise DecisionError(_l("Only the points of admitted observations are decided."))
    return triage


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(CHANGED_MEANWHILE) from None


def _clean_reasoning(reasoning: str | None) -> str:
    reasoning = (reasoning or "").strip()
    if len(reasoning) > REASONING_MAX:
        raise DecisionError(
            _l("The reasoning is longer than %(n)d characters.", n=REASONING_MAX), "reasoning"
        )
    return reasoning


# Writing -----------------------------------------------------------------------------------


@dataclass
class Draft:
    """What the decision form sends: the outcome (None: not chosen yet), the reasoning, the
    links (see ``app.decisions.links``) and the lock its page was made from (None: new)."""

    outcome: Outcome | None
    reasoning: str
    seen_lock: int | None
    change_ids: list[int] = field(default_factory=list)
    span_ids: list[int] = field(default_factory=list)
    paragraph_id: int | None = None


def save(
    session: Session, point: Point, draft: Draft, *, actor: User, now: datetime | None = None
) -> Decision:
    """Save the decision on ``point``: a draft is saved as it is; a published decision is
    changed only into another valid one, and what it said before is kept as a revision."""
    now = now or utcnow()
    if not can_decide_point(actor, point):
        raise DecisionError(_l("This point is not yours to decide."))
    _decidable(session, point)
    decision = session.scalar(select(Decision).where(Decision.point_id == point.id))
    reasoning = _clean_reasoning(draft.reasoning)
    if decision is None:
        if draft.seen_lock:
            raise Conflict(CHANGED_MEANWHILE)
        decision = Decision(
            point_id=point.id,
            round_id=point.observation.round_id,
            state=DecisionState.DRAFT,
            created_at=now,
        )
        session.add(decision)
        created = True
    else:
        if draft.seen_lock != decision.lock_version:
            raise Conflict(CHANGED_MEANWHILE)
        created = False
    before = (decision.outcome, decision.reasoning, links_.describe(session, decision))
    previous_author, previous_at = decision.updated_by_id, decision.updated_at
    decision.outcome = draft.outcome
    decision.reasoning = reasoning
    decision.updated_at = now
    decision.updated_by_id = actor.id
    _flush(session)
    links_.replace(session, decision, draft)
    after = (decision.outcome, decision.reasoning, links_.describe(session, decision))
    if created:
        record(
            session,
            "decision.created",
            actor=actor,
            obj=decision,
            point_id=point.id,
            outcome=decision.outcome.value if decision.outcome else None,
        )
        return decision
    if before == after:
        return decision
    if decision.published:
        problems = problems_of(session, decision, settings_of(session, point.observation.round))
        if problems:
            raise DecisionError(problems[0], more={"outcome": problems[0]})
        number = (
            session.scalar(select(func.count()).where(DecisionRevision.decision_id == decision.id))
            + 1
        )
        revision = DecisionRevision(
            decision_id=decision.id,
            number=number,
            outcome=before[0],
            reasoning=before[1],
            links=before[2],
            written_by_id=previous_author,
            written_at=previous_at,
            replaced_by_id=actor.id,
            replaced_at=now,
        )
        session.add(revision)
        decision.updated_at = now
        _flush(session)
        record(
            session,
            "decision.revised",
            actor=actor,
            obj=decision,
            point_id=point.id,
            revision_id=revision.id,
            from_outcome=before[0].value if before[0] else None,
            to_outcome=decision.outcome.value,
        )
    else:
        record(
            session,
            "decision.draft_saved",
            actor=actor,
            obj=decision,
            point_id=point.id,
            outcome=decision.outcome.value if decision.outcome else None,
        )
    return decision


def _publish_one(session: Session, decision: Decision, *, actor: User, now: datetime) -> None:
    decision.state = DecisionState.PUBLISHED
    decision.published_at = now
    decision.published_by_id = actor.id
    _record_published(session, decision, actor=actor)


def _record_published(session: Session, decision: Decision, *, actor: User) -> None:
    record(
        session,
        "decision.published",
        actor=actor,
        obj=decision,
        point_id=decision.point_id,
        outcome=decision.outcome.value,
    )


def publish(
    session: Session,
    point: Point,
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> Decision:
    """Publish the draft decision on one point; its observation follows (decided, e-mail)."""
    now = now or utcnow()
    if not can_decide_point(actor, point):
        raise DecisionError(_l("This point is not yours to decide."))
    _decidable(session, point)
    decision = session.scalar(select(Decision).where(Decision.point_id == point.id))
    if decision is None:
        raise DecisionError(_l("Write the decision before publishing it."))
    if seen_lock != decision.lock_version:
        raise Conflict(CHANGED_MEANWHILE)
    if decision.published:
        raise DecisionError(_l("This decision is already published."))
    problems = problems_of(session, decision, settings_of(session, point.observation.round))
    if problems:
        raise DecisionError(problems[0], more={"outcome": problems[0]})
    _publish_one(session, decision, actor=actor, now=now)
    _flush(session)
    _after_publication(session, [point.observation], actor=actor, now=now)
    return decision


def publish_round(
    session: Session, round_: Round, *, actor: User, now: datetime | None = None
) -> int:
    """Publish every draft of the round at once, or none: if one is invalid, nothing is
    published and :class:`PublicationRefused` lists every invalid one. Returns how many.

    The drafts, their points and observations (with authors) are read in one query, their
    links in two more, and they are published with one UPDATE (as are the triage rows of the
    observations decided): what grows with the round is only the rows it adds, one audit
    entry per decision and per observation decided, one transition per observation decided,
    one e-mail per author told (inserted in one flush; SQLite takes one INSERT per row where
    a generated key is read back)."""
    now = now or utcnow()
    if not can_publish_round(actor, round_):
        raise DecisionError(_l("You may not publish the decisions of this round."))
    rows = session.execute(
        select(Decision, Point, Observation)
        .join(Point, Point.id == Decision.point_id)
        .join(Observation, Observation.id == Point.observation_id)
        .join(Triage, Triage.observation_id == Observation.id)
        .where(
            Decision.round_id == round_.id,
            Decision.state == DecisionState.DRAFT,
            Point.state == PointState.ACTIVE,
            Observation.state == ObservationState.SUBMITTED,
            Triage.state.in_(DECIDABLE),
        )
        .options(joinedload(Observation.author))
        .order_by(Observation.protocol_number, Point.number)
    ).all()
    if not rows:
        raise DecisionError(_l("There is no draft decision to publish in this round."))
    settings = settings_of(session, round_)
    found = problems_many(session, [decision for decision, _p, _o in rows], settings)
    problems = [
        (point.label, decision.id, [str(p) for p in found[decision.id]])
        for decision, point, _o in rows
        if found[decision.id]
    ]
    if problems:
        raise PublicationRefused(
            _l(
                "Nothing was published: %(n)d decisions are not ready. Correct them and "
                "publish again.",
                n=len(problems),
            ),
            problems,
        )
    decisions = [decision for decision, _p, _o in rows]
    try:
        update_versioned(
            session,
            decisions,
            state=DecisionState.PUBLISHED,
            published_at=now,
            published_by_id=actor.id,
        )
    except StaleDataError:
        raise Conflict(CHANGED_MEANWHILE) from None
    for decision in decisions:
        _record_published(session, decision, actor=actor)
    record(session, "decision.round_published", actor=actor, obj=round_, decisions=len(rows))
    observations = {observation.id: observation for _d, _p, observation in rows}
    _after_publication(session, list(observations.values()), actor=actor, now=now)
    return len(rows)


def _after_publication(
    session: Session, observations: list[Observation], *, actor: User, now: datetime
) -> None:
    """Each observation whose every active point now has a published decision is decided;
    each author is told by e-mail that decisions on their observation were published."""
    ids = [o.id for o in observations]
    active = dict(
        session.execute(
            select(Point.observation_id, func.count())
            .where(Point.observation_id.in_(ids), Point.state == PointState.ACTIVE)
            .group_by(Point.observation_id)
        ).all()
    )
    published = dict(
        session.execute(
            select(Point.observation_id, func.count())
            .join(Decision, Decision.point_id == Point.id)
            .where(
                Point.observation_id.in_(ids),
                Point.state == PointState.ACTIVE,
                Decision.state == DecisionState.PUBLISHED,
            )
            .group_by(Point.observation_id)
        ).all()
    )
    triages = {
        t.observation_id: t
        for t in session.scalars(select(Triage).where(Triage.observation_id.in_(ids)))
    }
    moderation.mark_decided_many(
        session,
        [triages[o.id] for o in observations if published.get(o.id, 0) >= active.get(o.id, 0)],
        actor=actor,
        now=now,
    )
    for observation in observations:
        _tell_author(session, observation)


def _tell_author(session: Session, observation: Observation) -> None:
    author = observation.author
    if observation.channel in INTAKE_CHANNELS or not author.active:
        return  # recorded by staff from a letter or a PEC: the answer goes back the same way
    queue_email(
        session,
        to=author.email,
        template="decisions/email/published",
        context={
            "name": author.display_name,
            "observation": observation,
            "link": absolute_url("decisions.trace", observation_id=observation.id),
        },
        locale=author.locale,
    )


# Answer templates --------------------------------------------------------------------------


def _template_values(title: str, body: str) -> tuple[str, str]:
    title, body = " ".join((title or "").split()), (body or "").strip()
    missing = {}
    if not title:
        missing["title"] = _l("Give the template a title.")
    elif len(title) > TITLE_MAX:
        missing["title"] = _l("A title has at most %(n)d characters.", n=TITLE_MAX)
    if not body:
        missing["body"] = _l("Write the reasoning the template holds.")
    elif len(body) > REASONING_MAX:
        missing["body"] = _l("The reasoning is longer than %(n)d characters.", n=REASONING_MAX)
    if missing:
        name, message = next(iter(missing.items()))
        raise DecisionError(message, name, more=missing)
    return title, body


def create_template(
    session: Session, *, title: str, body: str, outcome: Outcome | None, actor: User
) -> AnswerTemplate:
    title, body = _template_values(title, body)
    template = AnswerTemplate(title=title, body=body, outcome=outcome, created_by_id=actor.id)
    session.add(template)
    session.flush()
    record(session, "decision.template_created", actor=actor, obj=template)
    return template


def update_template(
    session: Session,
    template: AnswerTemplate,
    *,
    title: str,
    body: str,
    outcome: Outcome | None,
    actor: User,
) -> None:
    title, body = _template_values(title, body)
    template.title, template.body, template.outcome = title, body, outcome
    session.flush()
    record(session, "decision.template_updated", actor=actor, obj=template)


def archive_template(session: Session, template: AnswerTemplate, *, actor: User) -> None:
    if template.archived:
        raise DecisionError(_l("This template is already archived."))
    template.archived = True
    session.flush()
    record(session, "decision.template_archived", actor=actor, obj=template)
