"""Who may decide, publish, configure, read the coverage and follow a point to its outcome."""

from __future__ import annotations

from sqlalchemy import exists, select

from app.core.permissions import is_editor, is_moderator, is_staff, register
from app.extensions import db
from app.moderation.models import PointAssignment
from app.moderation.permissions import can_decide
from app.observations.models import Observation, ObservationState, Point
from app.observations.permissions import can_follow
from app.rounds.models import Round, RoundState

#: Where a round's decisions can be read (a round not yet open has received nothing).
_READABLE = frozenset(
    {RoundState.OPEN, RoundState.CLOSED, RoundState.IN_REVIEW, RoundState.CONCLUDED}
)
#: Where a round's observations are public (when it says so): once it has closed.
_PAST_CLOSE = frozenset({RoundState.CLOSED, RoundState.IN_REVIEW, RoundState.CONCLUDED})


def can_read_decisions(user, round_: Round) -> bool:
    """The editor workspace of a round: plan editors and administrators, once it has opened."""
    return is_editor(user) and round_.state in _READABLE


def can_read_point_decision(user, point: Point) -> bool:
    """A point's decision page: whoever :func:`can_read_decisions` in its round."""
    return can_read_decisions(user, point.observation.round)


def is_registered(user, observation: Observation) -> bool:
    """The observation was registered (drafts have no trace page): for everyone."""
    return observation.state is not ObservationState.DRAFT


def any_editor_may_decide(round_: Round) -> bool:
    from app.decisions.models import RoundDecisionSettings

    settings = db.session.get(RoundDecisionSettings, round_.id)
    return bool(settings and settings.any_editor)


def is_assigned(user, point: Point) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and db.session.scalar(
            select(
                exists().where(
                    PointAssignment.point_id == point.id, PointAssignment.editor_id == user.id
                )
            )
        )
    )


def can_decide_point(user, point: Point) -> bool:
    """Write and publish the decision on a point: an editor it is assigned to, or any editor
    where the round allows it, while the round is active (``moderation.can_decide``)."""
    round_ = point.observation.round
    if not can_decide(user, round_):
        return False
    return any_editor_may_decide(round_) or is_assigned(user, point)


def can_publish_round(user, round_: Round) -> bool:
    """Publish every valid draft of a round at once (all or none): editors and
    administrators, while the round is active."""
    return can_decide(user, round_)


def can_configure_decisions(user, round_: Round) -> bool:
    """Say who may decide a round and which outcomes need no reasoning: administrators and
    moderators (who run rounds), until the round is concluded."""
    return is_moderator(user) and round_.state is not RoundState.CONCLUDED


def can_manage_answer_templates(user) -> bool:
    """Write, change and archive answer templates: plan editors and administrators."""
    return is_editor(user)


def can_see_coverage(user, round_: Round) -> bool:
    """What is missing before a round can be concluded: staff, once it has opened."""
    return is_staff(user) and round_.state in _READABLE


def is_public_after_close(observation: Observation) -> bool:
    round_ = observation.round
    return round_.publish_after_close and round_.state in _PAST_CLOSE


def can_see_trace(user, observation: Observation) -> bool:
    """ "Where did my point go": whoever follows the observation (its author, its
    organisation's referents, staff), and anyone once a round publishing its observations
    after the close has closed. Drafts: nobody."""
    if observation.state is ObservationState.DRAFT:
        return False
    return can_follow(user, observation) or is_public_after_close(observation)


register(
    can_read_decisions,
    can_read_point_decision,
    is_registered,
    can_decide_point,
    can_publish_round,
    can_configure_decisions,
    can_manage_answer_templates,
    can_see_coverage,
    can_see_trace,
)
