"""Finding 6 of issue 11, the API's part: one JSON check (depth, size, characters) for every
endpoint, and URL integers beyond the database's range as JSON 404s."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.observations.models import Observation
from tests.api.conftest import bearer
from tests.fixtures.hostile import HOSTILE_JSON_BODIES


@pytest.fixture
def api_round(db, make_round, make_comune, make_referent, make_token):
    round_ = make_round()
    _, secret = make_token(make_referent(make_comune()))
    return round_, secret


@pytest.mark.parametrize("name", sorted(HOSTILE_JSON_BODIES))
def test_hostile_json_is_a_clear_error_and_stores_nothing(client, db, api_round, name):
    round_, secret = api_round
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations",
        data=HOSTILE_JSON_BODIES[name],
        headers={**bearer(secret), "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), (name, response.status_code)
    error = response.get_json()["error"]
    assert error["message"] and error["code"] in ("invalid_json", "invalid_input")
    assert db.session.scalar(select(func.count(Observation.id))) == 0


def test_an_api_round_beyond_the_range_is_404_json(client, api_round):
    _, secret = api_round
    response = client.get(f"/api/v1/rounds/{2**63}", headers=bearer(secret))
    assert response.status_code == 404 and response.get_json()["error"]["status"] == 404
