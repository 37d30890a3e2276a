"""What can happen to a round. Functions change state, write the audit entry and queue mail;
they flush but never commit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import changes as audit_changes
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.urls import absolute_url
from app.notifications.operations import queue_email
from app.plans.models import PlanVersion, VersionStatus
from app.plans.text import clean_html
from app.rounds.eligibility import eligible_referents
from app.rounds.models import (
    ConclusionOverride,
    ConclusionRefused,
    ProtocolCounter,
    Round,
    RoundError,
    RoundState,
)
from app.stakeholders.models import Group, OrganisationKind, Zone

PROTOCOL_PREFIX = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
#: Fields that may still change while a round is open (e.g. a deadline extension).
EDITABLE_WHILE_OPEN = {"instructions", "closes_at", "accept_late", "reminder_days"}


def _check(
    session: Session,
    *,
    version: PlanVersion,
    opens_at: datetime,
    closes_at: datetime,
    protocol_prefix: str,
    round_: Round | None = None,
) -> None:
    if version.status is VersionStatus.ADOPTED:
        raise RoundError(_l("An adopted version cannot be consulted on."), "plan_version_id")
    if closes_at <= opens_at:
        raise RoundError(_l("The round must close after it opens."), "closes_at")
    if not PROTOCOL_PREFIX.match(protocol_prefix):
        raise RoundError(
            _l("Use capital letters, digits and hyphens (at most 20), e.g. PSM2019."),
            "protocol_prefix",
        )
    clash = select(Round.id).where(Round.protocol_prefix == protocol_prefix)
    if round_ is not None:
        clash = clash.where(Round.id != round_.id)
    if session.scalar(clash) is not None:
        raise RoundError(_l("Another round already uses this protocol prefix."), "protocol_prefix")


def create_round(
    session: Session,
    *,
    version: PlanVersion,
    title: str,
    instructions: str,
    opens_at: datetime,
    closes_at: datetime,
    protocol_prefix: str,
    accept_late: bool = False,
    publish_after_close: bool = True,
    citizens_eligible: bool = False,
    reminder_days: int = 3,
    groups: Iterable[Group] = (),
    zones: Iterable[Zone] = (),
    kinds: Iterable[OrganisationKind] = (),
    actor: User | None,
) -> Round:
    protocol_prefix = protocol_prefix.strip().upper()
    _check(
        session,
        version=version,
        opens_at=opens_at,
        closes_at=closes_at,
        protocol_prefix=protocol_prefix,
    )
    round_ = Round(
        version=version,
        title=title.strip(),
        instructions=clean_html(instructions),
        opens_at=opens_at,
        closes_at=closes_at,
        protocol_prefix=protocol_prefix,
        accept_late=accept_late,
        publish_after_close=publish_after_close,
        citizens_eligible=citizens_eligible,
        reminder_days=reminder_days,
        groups=list(groups),
        zones=list(zones),
        created_by=actor,
    )
    round_.set_kinds(kinds)
    session.add(round_)
    session.flush()
    session.add(ProtocolCounter(round_id=round_.id, last_number=0))
    record(session, "round.created", actor=actor, obj=round_, version_id=round_.plan_version_id)
    return round_


def update_round(session: Session, round_: Round, *, actor: User, **values) -> None:
    """Change a round's settings; while it is open only the deadline and a few others."""
    if round_.state in (RoundState.IN_REVIEW, RoundState.CONCLUDED, RoundState.CLOSED):
        raise RoundError(_l("A closed round can no longer be changed."))
    if "instructions" in values:
        values["instructions"] = clean_html(values["instructions"])
    if "protocol_prefix" in values:
        values["protocol_prefix"] = values["protocol_prefix"].strip().upper()
    changed = {k for k, v in values.items() if not _same(getattr_current(round_, k), v)}
    if round_.state is RoundState.OPEN and changed - EDITABLE_WHILE_OPEN:
        raise RoundError(
            _l(
                "While the round is open only the instructions, the deadline, late "
                "submissions and reminders can change."
            )
        )
    _check(
        session,
        version=values.get("version", round_.version),
        opens_at=values.get("opens_at", round_.opens_at),
        closes_at=values.get("closes_at", round_.closes_at),
        protocol_prefix=values.get("protocol_prefix", round_.protocol_prefix),
        round_=round_,
    )
    changes = {}
    for name in sorted(changed):
        value = values[name]
        before = getattr_current(round_, name)
        changes[name] = [_plain(before), _plain(value)]
        if name == "kinds":
            round_.set_kinds(value)
        else:
            setattr(round_, name, value)
    if changes:
        if "closes_at" in changes and round_.reminder_sent_at and round_.state is RoundState.OPEN:
            round_.reminder_sent_at = None  # a new deadline deserves a new reminder
        record(
            session,
            "round.updated",
            actor=actor,
            obj=round_,
            **audit_changes(changes, values_of=set(changes) - {"title", "instructions"}),
        )
    session.flush()


def getattr_current(round_: Round, name: str):
    if name == "kinds":
        return round_.kinds
    if name in ("groups", "zones"):
        return list(getattr(round_, name))
    return getattr(round_, name)


def _same(before, after) -> bool:
    """Equal as the form can express it: groups and zones as sets, times to the minute."""
    if isinstance(before, list) or isinstance(after, list):
        return {getattr(v, "id", v) for v in before} == {getattr(v, "id", v) for v in after}
    if isinstance(before, datetime) and isinstance(after, datetime):
        return before.replace(second=0, microsecond=0) == after.replace(second=0, microsecond=0)
    return before == after


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, list, tuple)):
        return sorted(str(getattr(v, "id", v)) for v in value)
    if isinstance(value, PlanVersion):
        return value.id
    return value


#: What must be complete before a round is concluded: functions ``fn(session, round_)`` that
#: return the gaps they find, as sentences (an empty list: nothing missing). Higher domains
#: register them (decisions: its coverage); rounds never imports them.
CONCLUSION_CHECKS: list = []

OVERRIDE_REASON_MAX = 2_000

#: What happens once a round is concluded, in the same transaction: functions
#: ``fn(session, round_, actor)`` that higher domains register (reports: tell the authors
#: where their points went).
CONCLUSION_HOOKS: list = []


def register_conclusion_check(fn) -> None:
    """Add a check that concluding a round must pass (see :data:`CONCLUSION_CHECKS`)."""
    if fn not in CONCLUSION_CHECKS:
        CONCLUSION_CHECKS.append(fn)


def register_conclusion_hook(fn) -> None:
    """Run ``fn`` whenever a round is concluded (see :data:`CONCLUSION_HOOKS`)."""
    if fn not in CONCLUSION_HOOKS:
        CONCLUSION_HOOKS.append(fn)


def conclusion_gaps(session: Session, round_: Round) -> list[str]:
    """Everything the registered checks find missing before ``round_`` can be concluded."""
    return [str(gap) for check in CONCLUSION_CHECKS for gap in check(session, round_)]


def _conclude(
    session: Session, round_: Round, *, actor: User | None, override_reason: str | None
) -> None:
    gaps = conclusion_gaps(session, round_)
    reason = " ".join((override_reason or "").split())
    if gaps and not reason:
        raise ConclusionRefused(
            _l("The round cannot be concluded yet: something is missing."), gaps
        )
    if gaps:
        from app.core.permissions import is_admin

        if not is_admin(actor):
            raise ConclusionRefused(
                _l("Only an administrator may conclude a round with something missing."), gaps
            )
        if len(reason) > OVERRIDE_REASON_MAX:
            raise RoundError(
                _l("The reason is longer than %(n)d characters.", n=OVERRIDE_REASON_MAX),
                "override_reason",
            )
        override = ConclusionOverride(
            round_id=round_.id,
            reason=reason,
            gaps="\n".join(gaps),
            actor_id=actor.id if actor else None,
        )
        session.add(override)
        session.flush()
        record(
            session,
            "round.conclusion_overridden",
            actor=actor,
            obj=round_,
            override_id=override.id,
            gaps=len(gaps),
        )
    round_.conclude()
    for hook in CONCLUSION_HOOKS:
        hook(session, round_, actor)


def change_state(
    session: Session,
    round_: Round,
    action: str,
    *,
    actor: User | None,
    now: datetime | None = None,
    announce: bool = True,
    override_reason: str | None = None,
) -> None:
    """Apply a life-cycle action (schedule, unschedule, open, close, start_review, conclude).

    Opening e-mails the eligible referents unless ``announce`` is false (demo data). Concluding
    asks the registered conclusion checks first: with gaps it is refused
    (:class:`~app.rounds.models.ConclusionRefused`), unless an administrator gives
    ``override_reason``, which is recorded with the gaps."""
    now = now or utcnow()
    before = round_.state
    if action == "open":
        if round_.state is RoundState.DRAFT:
            round_.schedule()
        if now < round_.opens_at:
            round_.opens_at = now  # opened early by hand: the window starts now
        round_.open(now)
        if announce:
            _announce(session, round_, "rounds/email/opened")
    elif action == "close":
        round_.close(now)
        if now < round_.closes_at:
            round_.closes_at = now  # closed early by hand: the deadline is now
    elif action == "conclude":
        _conclude(session, round_, actor=actor, override_reason=override_reason)
    elif action in ("schedule", "unschedule", "start_review"):
        getattr(round_, action)()
    else:
        raise RoundError(_l("Unknown action."))
    record(session, f"round.{action}", actor=actor, obj=round_, before=before, after=round_.state)
    session.flush()


def _announce(session: Session, round_: Round, template: str) -> int:
    link = absolute_url("rounds.show_round", round_id=round_.id)
    referents = eligible_referents(session, round_)
    for user in referents:
        queue_email(
            session,
            to=user.email,
            template=template,
            context={"user": user, "round": round_, "link": link},
            locale=user.locale,
        )
    return len(referents)


def apply_due_transitions(session: Session, now: datetime | None = None) -> dict:
    """Open, close and remind by the clock (run by the worker; safe to run often)."""
    now = now or utcnow()
    counts = {"opened": 0, "closed": 0, "reminded": 0}
    due_to_open = session.scalars(
        select(Round).where(Round.state == RoundState.SCHEDULED, Round.opens_at <= now)
    ).all()
    for round_ in due_to_open:
        change_state(session, round_, "open", actor=None, now=now)
        counts["opened"] += 1
    due_to_close = session.scalars(
        select(Round).where(Round.state == RoundState.OPEN, Round.closes_at <= now)
    ).all()
    for round_ in due_to_close:
        change_state(session, round_, "close", actor=None, now=now)
        counts["closed"] += 1
    open_rounds = session.scalars(
        select(Round).where(
            Round.state == RoundState.OPEN,
            Round.reminder_days > 0,
            Round.reminder_sent_at.is_(None),
            Round.closes_at > now,
        )
    ).all()
    for round_ in open_rounds:
        if round_.closes_at - timedelta(days=round_.reminder_days) <= now:
            sent = _announce(session, round_, "rounds/email/reminder")
            round_.reminder_sent_at = now
            record(session, "round.reminded", obj=round_, recipients=sent)
            counts["reminded"] += 1
    session.flush()
    return counts


# The response version ----------------------------------------------------------------------

#: Where a round may get or change its response version (not once it is concluded: its
#: decisions and coverage are final; not before its text is frozen).
RESPONSE_STATES = {RoundState.OPEN, RoundState.CLOSED, RoundState.IN_REVIEW}


def _check_response_state(round_: Round) -> None:
    if round_.state not in RESPONSE_STATES:
        raise RoundError(
            _l("A response version can be set once the round is open, and until it is concluded.")
        )


def set_response_version(
    session: Session, round_: Round, version: PlanVersion, *, actor=None
) -> None:
    """Make ``version`` the round's response version: it must continue the consulted version
    directly (its stored changes against it are what the decisions link to)."""
    _check_response_state(round_)
    if version.predecessor_id != round_.plan_version_id:
        raise RoundError(
            _l(
                "The response version must be the next version of the consulted text "
                "(started from %(label)s).",
                label=round_.version.label,
            ),
            "version",
        )
    if round_.response_version_id == version.id:
        return
    previous = round_.response_version_id
    round_.response_version = version
    session.flush()
    record(
        session,
        "round.response_version_set",
        actor=actor,
        obj=round_,
        version_id=version.id,
        previous_version_id=previous,
    )


def start_response_version(session: Session, round_: Round, *, label: str, actor=None):
    """Start the next draft of the consulted version and make it the response version."""
    from app.plans.operations import create_successor

    _check_response_state(round_)
    successor = create_successor(session, round_.version, label=label, actor=actor)
    set_response_version(session, round_, successor, actor=actor)
    return successor


def response_candidates(session: Session, round_: Round) -> list[PlanVersion]:
    """The versions that may answer the round: those that continue its consulted version."""
    return list(
        session.scalars(
            select(PlanVersion)
            .where(PlanVersion.predecessor_id == round_.plan_version_id)
            .order_by(PlanVersion.number)
        )
    )
