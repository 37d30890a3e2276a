"""Who may follow, withdraw and correct an observation, and who records intake."""

from __future__ import annotations

from app.core.permissions import is_logged_in, is_staff, register
from app.observations.models import INTAKE_CHANNELS, Observation
from app.rounds.permissions import can_manage_rounds, can_write_now


def can_follow(user, observation: Observation) -> bool:
    """See it and its receipt. A draft: its author alone. Once submitted: the author, the
    referents of the same organisation, and staff."""
    if not is_logged_in(user):
        return False
    if observation.author_id == user.id:
        return True
    if observation.is_draft:
        return False
    if is_staff(user):
        return True
    return (
        observation.organisation_id is not None
        and observation.organisation_id == user.organisation_id
    )


def can_edit_draft(user, observation: Observation) -> bool:
    """Change a draft: its author only (a submitted observation is never changed)."""
    return is_logged_in(user) and observation.author_id == user.id


def can_speak_for(user, observation: Observation) -> bool:
    """The author, or a referent of the organisation it was sent for (the receipt's
    verification code is theirs)."""
    if not is_logged_in(user):
        return False
    return observation.author_id == user.id or (
        observation.organisation_id is not None
        and observation.organisation_id == user.organisation_id
    )


def can_withdraw(user, observation: Observation) -> bool:
    """The author, or a referent of the same organisation (staff do not withdraw for them;
    what staff recorded from another channel is not withdrawn here)."""
    return observation.channel not in INTAKE_CHANNELS and can_speak_for(user, observation)


def can_correct(user, observation: Observation) -> bool:
    """Start a correcting draft: whoever may write in its round now."""
    return can_write_now(user, observation.round)


def can_record_intake(user) -> bool:
    """Record observations received by PEC, letter or by hand: whoever manages rounds."""
    return can_manage_rounds(user)


register(can_follow, can_edit_draft, can_speak_for, can_withdraw, can_correct, can_record_intake)
