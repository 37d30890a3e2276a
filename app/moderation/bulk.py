"""Bulk actions on a selection, or on every result of a filter: tag, untag, admit, mark not
admissible with one reason. All or nothing, like ``stakeholders.operations.BulkPlan`` but
stricter, with the shape of :mod:`app.moderation.bulk_core`: first a preview
(:func:`plan_bulk` with ``apply=False``) says what would change and what stands in the way;
the same call with ``apply=True`` (and the preview's fingerprint) changes every item or none.

What stands in the way: an item changed since the page was shown (its lock moved on, or, for a
filter, it changed after the page's time, or the filter now finds a different number of
results), a set that is not the one the preview showed, an item that is no longer in the round,
an item whose state does not allow the action (e.g. admitting one already assigned) or that was
withdrawn. Items already as the action would leave them are counted as unchanged. A race at
the database (a stale UPDATE at the flush) is a :class:`~app.moderation.models.Conflict`: the
caller rolls back. Statements are bounded whatever the number of items.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, literal, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import bulk_core, operations, queries
from app.moderation.bulk_core import CHANGE, KEEP, SHOWN_MAX, BulkPlan, Item
from app.moderation.models import (
    TRANSITIONS,
    ModerationError,
    ObservationTag,
    Triage,
    TriageState,
)
from app.observations.models import Observation, ObservationState
from app.rounds.models import Round

__all__ = ["ACTION_LABELS", "BULK_ACTIONS", "BULK_MAX", "SHOWN_MAX", "BulkPlan", "plan_bulk"]

BULK_ACTIONS = ("tag", "untag", "admit", "reject")
ACTION_LABELS = {
    "tag": _l("Tag"),
    "untag": _l("Remove the tag"),
    "admit": _l("Admit"),
    "reject": _l("Mark not admissible"),
}
#: At most this many items in one bulk action (a selection, or every result of a filter).
BULK_MAX = 20_000


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
    fingerprint: str | None = None,
    tag_id: int | None = None,
    reason: str | None = None,
    apply: bool,
    now: datetime | None = None,
) -> BulkPlan:
    """Preview (``apply`` False) or apply a bulk action; see the module's docstring.
    ``fingerprint`` is the preview's (see :mod:`app.moderation.bulk_core`)."""
    bulk_core.check_actor(
        actor, round_, action, BULK_ACTIONS, _l("Choose what to do with the observations.")
    )
    tag = bulk_core.chosen_tag(session, tag_id) if action in ("tag", "untag") else None
    if action == "reject":
        reason = operations.clean_reason(reason)
    plan = BulkPlan(action=action)
    query = (
        select(Triage, Observation.protocol_code, Observation.state)
        .join(Observation, Observation.id == Triage.observation_id)
        .where(Observation.round_id == round_.id)
        .order_by(Triage.observation_id)
        .limit(BULK_MAX + 1)
    )
    if selection is not None:
        if not selection:
            raise ModerationError(_l("Select at least one observation."), "item")
        ids = list(selection)[:BULK_MAX]
        scope = select(Observation.id).where(Observation.id.in_(ids))
        rows = session.execute(query.where(Triage.observation_id.in_(scope))).all()
        plan.missing = len(ids) - len(rows)
    else:
        if shown_at is None or expected is None:
            raise ModerationError(_l("Reload the queue and try again."))
        scope = (
            queries.queue_select(session, round_, chosen or queries.QueueFilter())
            .with_only_columns(Observation.id)
            .order_by(None)
        )
        rows = session.execute(query.where(Triage.observation_id.in_(scope))).all()
        plan.expected, plan.found = expected, len(rows)
    if len(rows) > BULK_MAX:
        raise ModerationError(
            _l("At most %(n)d observations at once: narrow the filter.", n=BULK_MAX)
        )
    tagged = set()
    if tag is not None:
        tagged = set(
            session.scalars(
                select(ObservationTag.observation_id).where(
                    ObservationTag.tag_id == tag.id, ObservationTag.observation_id.in_(scope)
                )
            )
        )
    found = {row.Triage.observation_id: row for row in rows}

    def verdict(item: Item):
        triage, _code, observation_state = found[item.id]
        if action in ("tag", "untag"):
            return KEEP if (item.id in tagged) == (action == "tag") else CHANGE
        allowed, target = TRANSITIONS[action]
        if observation_state is not ObservationState.SUBMITTED:
            return _l("withdrawn by its author")
        if triage.state is target and (action != "reject" or triage.reason == reason):
            return KEEP
        if triage.state not in allowed:
            return _STATE_BLOCKS.get(triage.state, _l("not possible"))
        return CHANGE

    items = [
        Item(triage.observation_id, protocol_code, triage.lock_version, triage.changed_at)
        for triage, protocol_code, _state in rows
    ]
    return bulk_core.settle(
        plan,
        items,
        verdict,
        seen_locks=selection,
        shown_at=shown_at,
        seen_fingerprint=fingerprint,
        write=(lambda: _apply(session, plan, found, tag, actor, reason, now or utcnow()))
        if apply
        else None,
    )


_STATE_BLOCKS = {
    TriageState.ASSIGNED: _l("already assigned"),
    TriageState.DECIDED: _l("already decided"),
    TriageState.NOT_ADMISSIBLE: _l("not admissible with another reason"),
}


def _apply(session, plan, found, tag, actor, reason, now) -> None:
    """Bounded: one statement per kind of row written, whatever the number of items."""
    ids = plan.to_change
    triages = {i: found[i][0] for i in ids}
    if plan.action == "tag":
        session.execute(
            insert(ObservationTag).from_select(
                ["observation_id", "tag_id", "tagged_by_id", "tagged_at"],
                select(
                    Observation.id,
                    literal(tag.id),
                    literal(actor.id),
                    literal(now, ObservationTag.tagged_at.type),
                ).where(Observation.id.in_(ids)),
            )
        )
    elif plan.action == "untag":
        session.execute(
            delete(ObservationTag).where(
                ObservationTag.tag_id == tag.id, ObservationTag.observation_id.in_(ids)
            )
        )
    if plan.action in ("tag", "untag"):
        operations.touch_many(session, triages.values(), now=now)
    else:
        operations.move_many(
            session, [triages[i] for i in ids], plan.action, actor=actor, reason=reason, now=now
        )
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
