"""What every bulk action shares, on observations (:mod:`app.moderation.bulk`) and on points
(:mod:`app.moderation.point_bulk`): plan → preview → stale check → apply.

A module finds its items (a selection, or every result of a filter) as :class:`Item` rows and
says, item by item, whether the action changes it, leaves it as it is or cannot apply to it;
:func:`settle` turns that into a :class:`BulkPlan`, with the items changed since the page was
shown (their lock moved on, or they changed after the page's time) as stale, and the
fingerprint of the whole set, and writes only when nothing stands in the way. The
preview page carries the fingerprint to the confirmation: if the set changed in between (an
item changed, left or joined the filter's result), nothing is written and the page says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.i18n import lazy_gettext as _l
from app.moderation.models import ModerationError, Tag
from app.moderation.permissions import can_moderate
from app.rounds.models import Round

#: How many of the items standing in the way a page lists by name.
SHOWN_MAX = 50
#: What a verdict says of an item that is already as the action would leave it ...
KEEP = object()
#: ... and of one that the action changes (anything else is why it cannot).
CHANGE = object()


@dataclass(frozen=True)
class Item:
    id: int
    #: How pages name it (a protocol code, a point's label).
    label: str
    #: The lock version it has now (a point's is its observation's).
    lock: int
    changed_at: datetime


@dataclass
class BulkPlan:
    action: str
    to_change: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    #: Labels of items changed since the page was shown.
    stale: list[str] = field(default_factory=list)
    #: (label, why) of items the action cannot apply to.
    blocked: list[tuple[str, object]] = field(default_factory=list)
    #: Selected ids that are not (or no longer) in the round.
    missing: int = 0
    #: For "every result of a filter": how many the page showed, and how many there are now.
    expected: int | None = None
    found: int | None = None
    #: Of the set found now, and of the set the preview showed (None before a preview).
    fingerprint: str = ""
    seen_fingerprint: str | None = None
    applied: bool = False

    @property
    def moved(self) -> bool:
        """The set is no longer the one the preview showed."""
        return self.seen_fingerprint is not None and self.seen_fingerprint != self.fingerprint

    @property
    def can_confirm(self) -> bool:
        """Nothing stands in the way of the set found now (a page shows it, with its
        fingerprint, to be confirmed)."""
        return (
            not self.stale
            and not self.blocked
            and not self.missing
            and (self.expected is None or self.expected == self.found)
            and bool(self.to_change)
        )

    @property
    def can_apply(self) -> bool:
        return self.can_confirm and not self.moved


def check_actor(actor: User, round_: Round, action: str, actions: Iterable[str], what) -> None:
    """The actor may moderate the round and the action is one of ``actions`` (else ``what``,
    the message asking to choose one)."""
    if not can_moderate(actor, round_):
        raise ModerationError(_l("You may not do this in this round."))
    if action not in actions:
        raise ModerationError(what, "action")


def chosen_tag(session: Session, tag_id: int | None, field_name: str = "tag_id") -> Tag:
    tag = session.get(Tag, tag_id) if tag_id else None
    if tag is None or not tag.in_use:
        raise ModerationError(_l("Choose a tag."), field_name)
    return tag


def fingerprint(items: Iterable[Item]) -> str:
    """Of a set of items: their ids with their lock versions (any change moves a lock)."""
    text = ",".join(f"{item.id}:{item.lock}" for item in sorted(items, key=lambda i: i.id))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def settle(
    plan: BulkPlan,
    items: list[Item],
    verdict: Callable[[Item], object],
    *,
    seen_locks: Mapping[int, int] | None,
    shown_at: datetime | None,
    seen_fingerprint: str | None,
    write: Callable[[], None] | None,
) -> BulkPlan:
    """Sort the items into the plan: stale (its lock is not the one in ``seen_locks``, or,
    without them, it changed after ``shown_at``), else as ``verdict`` says (:data:`KEEP`,
    :data:`CHANGE`, or why not). Then, if there is ``write`` (applying, not previewing), call
    it only when nothing stands in the way."""
    for item in items:
        if (
            seen_locks[item.id] != item.lock
            if seen_locks is not None
            else shown_at is not None and item.changed_at > shown_at
        ):
            plan.stale.append(item.label)
            continue
        outcome = verdict(item)
        if outcome is KEEP:
            plan.unchanged.append(item.id)
        elif outcome is CHANGE:
            plan.to_change.append(item.id)
        else:
            plan.blocked.append((item.label, outcome))
    plan.fingerprint = fingerprint(items)
    plan.seen_fingerprint = seen_fingerprint or None
    if write is not None and plan.can_apply:
        write()
        plan.applied = True
    return plan
