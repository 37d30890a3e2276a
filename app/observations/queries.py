"""The read side of observations: finding one, and the lists people see."""

from __future__ import annotations

from app.core.permissions import Loader
from app.extensions import db
from app.observations.models import Observation


def get_observation(observation_id: int) -> Observation | None:
    return db.session.get(Observation, observation_id)


#: The observation a URL names (``<int:observation_id>``), for ``@require(load=OBSERVATION)``.
OBSERVATION = Loader("observation", ("observation_id",), get_observation)
