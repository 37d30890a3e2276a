"""Who may run rounds, see them and write in them."""

from __future__ import annotations

from app.core.db import utcnow
from app.core.permissions import is_editor, is_logged_in, is_moderator, is_staff, register
from app.core.roles import Role
from app.rounds.eligibility import organisation_is_eligible
from app.rounds.models import Round, RoundState


def can_manage_rounds(user) -> bool:
    """Create, schedule, open, close rounds and record intake: moderators and administrators."""
    return is_moderator(user)


def can_see_round(user, round_: Round) -> bool:
    """Staff see every round; any logged-in user sees a round once it is scheduled (who may
    write in it is :func:`can_submit`)."""
    if is_staff(user):
        return True
    if round_.state is RoundState.DRAFT:
        return False
    return is_logged_in(user)


def can_submit(user, round_: Round) -> bool:
    """The user may write observations in this round: a referent of an eligible organisation,
    or a registered citizen where the round admits them (the window is :func:`can_write_now`)."""
    if not is_logged_in(user) or not user.active:
        return False
    if Role.STAKEHOLDER in user.roles and organisation_is_eligible(round_, user.organisation):
        return True
    return round_.citizens_eligible and Role.CITIZEN in user.roles


def can_write_now(user, round_: Round) -> bool:
    """:func:`can_submit`, and the round's window is open at this moment."""
    return can_submit(user, round_) and round_.is_open_at(utcnow())


def can_set_response_version(user, round_: Round) -> bool:
    """Start or choose the round's response version: plan editors, from the opening of the
    round until it is concluded."""
    return is_editor(user) and round_.state in (
        RoundState.OPEN,
        RoundState.CLOSED,
        RoundState.IN_REVIEW,
    )


register(can_manage_rounds, can_see_round, can_submit, can_write_now, can_set_response_version)
