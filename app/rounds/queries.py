"""The read side of rounds: finding one, and the rounds a user may see."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from app.core.permissions import Loader, is_staff
from app.extensions import db
from app.plans.models import PlanVersion
from app.rounds.models import Round, RoundState


def get_round(round_id: int) -> Round | None:
    return db.session.get(Round, round_id)


#: The round a URL names (``<int:round_id>``), for ``@require(load=ROUND)``.
ROUND = Loader("round_", ("round_id",), get_round)


def visible_rounds(user) -> Select:
    """The rounds ``user`` may see, latest deadline first, with their plan version loaded:
    what :func:`app.rounds.permissions.can_see_round` allows, in SQL, so that pages are right."""
    query = (
        select(Round)
        .options(joinedload(Round.version).joinedload(PlanVersion.plan))
        .order_by(Round.closes_at.desc(), Round.id.desc())
    )
    if not is_staff(user):
        query = query.where(Round.state != RoundState.DRAFT)
    return query
