"""Moderation fixtures: a round with registered observations, and a moderator's client."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.extensions import db as _db
from app.moderation.models import Triage


@pytest.fixture
def registered(make_round, make_comune, make_referent, make_observation):
    """``registered(n=1, round_=None, **content)``: n registered observations of one round."""

    def make(n: int = 1, round_=None, **content):
        round_ = round_ or make_round()
        referent = make_referent(make_comune())
        return [
            make_observation(round_, referent, **{"title": f"Osservazione {i + 1}", **content})
            for i in range(n)
        ]

    return make


def triage_of(observation) -> Triage:
    _db.session.expire_all()
    return _db.session.get(Triage, observation.id)


@pytest.fixture
def moderator(make_user):
    return make_user(Role.MODERATOR)
