"""Who may do what in moderation: small named predicates, used by views, templates and tests."""

from __future__ import annotations

from app.core.permissions import is_editor, is_moderator, is_staff, register
from app.plans.permissions import can_see_plan
from app.rounds.models import Round, RoundState

#: States of a round in which its observations can be triaged (a concluded round is read-only).
_ACTIVE = frozenset({RoundState.OPEN, RoundState.CLOSED, RoundState.IN_REVIEW})
#: Where a round's queue can be read (a round in preparation has received nothing).
_VISIBLE = _ACTIVE | {RoundState.SCHEDULED, RoundState.CONCLUDED}


def can_see_queue(user, round_: Round) -> bool:
    """Read a round's moderation queue: moderators and administrators."""
    return is_moderator(user) and round_.state in _VISIBLE


def can_moderate(user, round_: Round) -> bool:
    """Triage, tag and act in bulk on a round's observations, while the round is active."""
    return is_moderator(user) and round_.state in _ACTIVE


def can_decide(user, round_: Round) -> bool:
    """Record a decision on what was assigned (the decisions issue builds on this)."""
    return is_editor(user) and round_.state in _ACTIVE


def can_read_notes(user) -> bool:
    """Internal notes are for staff only; they never reach a public page, export or e-mail."""
    return is_staff(user)


def can_manage_tags(user) -> bool:
    """Create, rename, recolour and merge tags (themes and zones; policy areas are seeded)."""
    return is_moderator(user)


#: Which predicate each triage action needs.
TRANSITION_PERMISSIONS = {
    "admit": can_moderate,
    "reject": can_moderate,
    "reopen": can_moderate,
    "assign": can_moderate,
    "unassign": can_moderate,
    "decide": can_decide,
}

register(can_see_queue, can_moderate, can_decide, can_read_notes, can_manage_tags)


# Publication (app.moderation.redaction, app.moderation.publication) ------------------------

#: After the close: the states in which a round that publishes shows its observations.
AFTER_CLOSE = frozenset({RoundState.CLOSED, RoundState.IN_REVIEW, RoundState.CONCLUDED})


def can_redact(user, round_: Round) -> bool:
    """Redact passages of, and hide from publication, the observations of a round that
    publishes them: moderators and administrators, from its opening on (a concluded round's
    publication still needs personal data taken out)."""
    return is_moderator(user) and round_.publish_after_close and round_.state in _VISIBLE


def can_read_publication(user, round_: Round) -> bool:
    """The public list of a round's observations: anyone the plan is shown to, once a round
    that publishes them has closed."""
    return (
        round_.publish_after_close
        and round_.state in AFTER_CLOSE
        and can_see_plan(user, round_.version.plan)
    )


register(can_redact, can_read_publication)
