"""The read side of observations: finding one, the lists people see, and counts."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from app.core.permissions import Loader
from app.extensions import db
from app.observations import receipts
from app.observations.models import Attachment, Observation, ObservationState
from app.rounds.models import Round


def get_observation(observation_id: int) -> Observation | None:
    return db.session.get(Observation, observation_id)


#: The observation a URL names (``<int:observation_id>``), for ``@require(load=OBSERVATION)``.
OBSERVATION = Loader("observation", ("observation_id",), get_observation)


def by_receipt(protocol: str, code: str) -> Observation | None:
    """The observation a receipt names: its protocol number (any case, spaces around) and its
    verification code, in one query on both, so that a known number with a wrong code does
    exactly the work of an unknown number (no timing oracle)."""
    return db.session.scalar(
        select(Observation).where(
            Observation.protocol_code == protocol.strip().upper(),
            Observation.verification_hash == receipts.hash_code(code),
        )
    )


def followed_by(user) -> Select:
    """The user's own observations, drafts included, and those their organisation submitted:
    latest first, with the attachments' ids loaded."""
    conditions = [Observation.author_id == user.id]
    if user.organisation_id:
        conditions.append(
            (Observation.organisation_id == user.organisation_id)
            & (Observation.state != ObservationState.DRAFT)
        )
    return (
        select(Observation)
        .where(or_(*conditions))
        .options(selectinload(Observation.attachments).load_only(Attachment.id))
        .order_by(Observation.created_at.desc(), Observation.id.desc())
    )


def submitted_counts(round_: Round, by) -> Counter:
    """Submitted observations of the round per ``by`` (``Observation.section_id`` or
    ``Observation.paragraph_id``; None counts those on the plan as a whole), in one query."""
    rows = db.session.execute(
        select(by, func.count(Observation.id))
        .where(Observation.round_id == round_.id, Observation.state == ObservationState.SUBMITTED)
        .group_by(by)
    ).all()
    return Counter(dict(rows))
