"""Bulk actions on a selection, or on every result of a filter: tag, untag, admit, mark not
admissible with one reason. All or nothing, like ``stakeholders.operations.BulkPlan`` but
stricter: first a preview (:func:`plan_bulk` with ``apply=False``) says what would change and
what stands in the way; the same call with ``apply=True`` changes every item or none.

What stands in the way: an item changed since the page was shown (its lock moved on, or, for a
filter, it changed after the page's time, or the filter now finds a different number of
results), an item that is no longer in the round, an item whose state does not allow the
action (e.g. admitting one already assigned) or that was withdrawn. Items already as the action
would leave them are counted as unchanged. A race at the database (a stale UPDATE at the
flush) is a :class:`~app.moderation.models.Conflict`: the caller rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import operations, queries
from app.moderation.models import (
    TRANSITIONS,
    ModerationError,
    ObservationTag,
    Tag,
    Triage,
    TriageState,
)
from app.moderation.permissions import can_moderate
from app.observations.models import Observation, ObservationState
from app.rounds.models import Round

BULK_ACTIONS = ("tag", "untag", "admit", "reject")
ACTION_LABELS = {
    "tag": _l("Tag"),
    "untag": _l("Remove the tag"),
    "admit": _l("Admit"),
    "reject": _l("Mark not admissible"),
}
#: At most this many items in one bulk action (a selection, or every result of a filter).
BULK_MAX = 20_000
#: How many of the items standing in the way a page lists by name.
SHOWN_MAX = 50


@dataclass
class BulkPlan:
    action: str
    to_change: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    #: Protocol codes of items changed since the page was shown.
    stale: list[str] = field(default_factory=list)
    #: (protocol code, why) of items the action cannot apply to.
    blocked: list[tuple[str, object]] = field(default_factory=list)
    #: Selected ids that are not (or no longer) in the round.
    missing: int = 0
    #: For "every result of a filter": how many the page showed, and how many there are now.
    expected: int | None = None
    found: int | None = None
    applied: bool = False

    @property
    def can_apply(self) -> bool:
        return (
            not self.stale
            and not self.blocked
            and not self.missing
            and (self.expected is None or self.expected == self.found)
            and bool(self.to_change)
        )


def _selected(
    session: Session, round_: Round, selection: dict[int, int]
) -> tuple[list[Triage], int]:
    ids = list(selection)[:BULK_MAX]
    triages = []
    for start in range(0, len(ids), 500):
        triages += session.scalars(
            select(Triage)
            .join(Observation, Observation.id == Triage.observation_id)
            .where(
                Observation.round_id == round_.id,
                Triage.observation_id.in_(ids[start : start + 500]),
            )
        ).all()
    return triages, len(ids) - len(triages)


def _filtered(session: Session, round_: Round, chosen: queries.QueueFilter) -> list[Triage]:
    ids = queries.queue_select(session, round_, chosen).with_only_columns(Observation.id)
    return list(
        session.scalars(
            select(Triage).where(Triage.observation_id.in_(ids.order_by(None))).limit(BULK_MAX + 1)
        )
    )


def plan_bulk(
    session: Session,
    round_: Round,
    *,
    action: str,
    actor: User,
    selection: dict[int, int] | None = None,
    chosen: queries.QueueFilter | None = None,
    shown_at: datetime | None = None,
    expected: int | None = None,
    tag_id: int | None = None,
    reason: str | None = None,
    apply: bool,
    now: datetime | None = None,
) -> BulkPlan:
    """Preview (``apply`` False) or apply a bulk action; see the module's docstring."""
    if not can_moderate(actor, round_):
        raise ModerationError(_l("You may not do this in this round."))
    if action not in BULK_ACTIONS:
        raise ModerationError(_l("Choose what to do with the observations."), "action")
    tag = None
    if action in ("tag", "untag"):
        tag = session.get(Tag, tag_id) if tag_id else None
        if tag is None or not tag.in_use:
            raise ModerationError(_l("Choose a tag."), "tag_id")
    if action == "reject":
        reason = operations.clean_reason(reason)
    plan = BulkPlan(action=action)
    if selection is not None:
        if not selection:
            raise ModerationError(_l("Select at least one observation."), "item")
        triages, plan.missing = _selected(session, round_, selection)
    else:
        if shown_at is None or expected is None:
            raise ModerationError(_l("Reload the queue and try again."))
        triages = _filtered(session, round_, chosen or queries.QueueFilter())
        plan.expected, plan.found = expected, len(triages)
    if len(triages) > BULK_MAX:
        raise ModerationError(
            _l("At most %(n)d observations at once: narrow the filter.", n=BULK_MAX)
        )
    observations: dict[int, Observation] = {}
    wanted = [t.observation_id for t in triages]
    for chunk in range(0, len(wanted), 500):
        observations.update(
            (o.id, o)
            for o in session.scalars(
                select(Observation).where(Observation.id.in_(wanted[chunk : chunk + 500]))
            )
        )
    tagged = set()
    if tag is not None:
        tagged = set(
            session.scalars(
                select(ObservationTag.observation_id).where(ObservationTag.tag_id == tag.id)
            )
        )
    for triage in sorted(triages, key=lambda t: t.observation_id):
        observation = observations[triage.observation_id]
        code = observation.protocol_code
        if selection is not None and selection[triage.observation_id] != triage.lock_version:
            plan.stale.append(code)
            continue
        if selection is None and triage.changed_at > shown_at:
            plan.stale.append(code)
            continue
        if action == "tag":
            (plan.unchanged if triage.observation_id in tagged else plan.to_change).append(
                triage.observation_id
            )
        elif action == "untag":
            (plan.to_change if triage.observation_id in tagged else plan.unchanged).append(
                triage.observation_id
            )
        else:
            allowed, target = TRANSITIONS[action]
            if observation.state is not ObservationState.SUBMITTED:
                plan.blocked.append((code, _l("withdrawn by its author")))
            elif triage.state is target and (action != "reject" or triage.reason == reason):
                plan.unchanged.append(triage.observation_id)
            elif triage.state not in allowed:
                plan.blocked.append((code, _STATE_BLOCKS.get(triage.state, _l("not possible"))))
            else:
                plan.to_change.append(triage.observation_id)
    if apply:
        if not plan.can_apply:
            return plan
        _apply(
            session,
            plan,
            {t.observation_id: t for t in triages},
            tag,
            actor,
            reason,
            now or utcnow(),
        )
    return plan


_STATE_BLOCKS = {
    TriageState.ASSIGNED: _l("already assigned"),
    TriageState.DECIDED: _l("already decided"),
    TriageState.NOT_ADMISSIBLE: _l("not admissible with another reason"),
}


def _apply(session, plan, triages, tag, actor, reason, now) -> None:
    ids = plan.to_change
    if plan.action == "tag":
        session.execute(
            insert(ObservationTag),
            [
                {"observation_id": i, "tag_id": tag.id, "tagged_by_id": actor.id, "tagged_at": now}
                for i in ids
            ],
        )
    elif plan.action == "untag":
        for start in range(0, len(ids), 500):
            session.execute(
                delete(ObservationTag).where(
                    ObservationTag.tag_id == tag.id,
                    ObservationTag.observation_id.in_(ids[start : start + 500]),
                )
            )
    if plan.action in ("tag", "untag"):
        for i in ids:
            triages[i].changed_at = now
        operations.flush_guarded(session)
    else:
        for i in ids:
            operations._move(session, triages[i], plan.action, actor=actor, reason=reason, now=now)
    record(
        session,
        f"triage.bulk_{plan.action}",
        actor=actor,
        object_type="observations",
        tag_id=tag.id if tag is not None else None,
        changed=len(ids),
        unchanged=len(plan.unchanged),
        observation_ids=ids,
    )
    plan.applied = True
