"""Who may run rounds and who may see them."""

from __future__ import annotations

from app.core.permissions import is_moderator, is_staff
from app.rounds.models import Round, RoundState


def can_manage_rounds(user) -> bool:
    """Create, schedule, open, close rounds and record intake: moderators and administrators."""
    return is_moderator(user)


def can_see_round(user, round_: Round) -> bool:
    """Staff see every round; any logged-in user sees a round once it is scheduled (who may
    write in it is :func:`app.rounds.eligibility.user_may_submit`)."""
    if is_staff(user):
        return True
    if round_.state is RoundState.DRAFT:
        return False
    return bool(getattr(user, "is_authenticated", False))
