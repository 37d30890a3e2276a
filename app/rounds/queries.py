"""The read side of rounds: finding one, listing them, counting what they received."""

from __future__ import annotations

from app.core.permissions import Loader
from app.extensions import db
from app.rounds.models import Round


def get_round(round_id: int) -> Round | None:
    return db.session.get(Round, round_id)


#: The round a URL names (``<int:round_id>``), for ``@require(load=ROUND)``.
ROUND = Loader("round_", ("round_id",), get_round)
