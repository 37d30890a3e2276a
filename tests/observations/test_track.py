"""Following an observation from its receipt: protocol number and verification code."""

from __future__ import annotations

import pytest

from app.api.ratelimit import limiter
from app.observations import operations, receipts
from tests.fixtures.factories import csrf_token


@pytest.fixture(autouse=True)
def _fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def registered(make_round, make_comune, make_referent, make_observation):
    return make_observation(
        make_round(),
        make_referent(make_comune()),
        title="Più verde urbano",
        kind=operations.ObservationKind.SUGGESTION,
    )


def _track(client, protocol, code):
    token = csrf_token(client, "/track")
    return client.post("/track", data={"csrf_token": token, "protocol": protocol, "code": code})


def test_anyone_with_the_receipt_sees_the_state(client, registered):
    code = receipts.verification_code(registered.protocol_code)
    response = _track(client, registered.protocol_code.lower(), code.lower())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Più verde urbano" in page and registered.digest in page


def test_a_wrong_code_shows_nothing(client, registered):
    response = _track(client, registered.protocol_code, "AAAAA-AAAAA")
    assert response.status_code == 404
    assert "Più verde urbano" not in response.get_data(as_text=True)


def test_guessing_is_rate_limited(client, config, registered):
    config["TRACK_ATTEMPTS_PER_MINUTE"] = 3
    statuses = [
        _track(client, registered.protocol_code, f"AAAAA-AAAA{i}").status_code for i in range(4)
    ]
    assert statuses == [404, 404, 404, 429]


def test_a_refused_look_up_says_when_to_try_again(client, config, registered):
    config["TRACK_ATTEMPTS_PER_MINUTE"] = 1
    _track(client, registered.protocol_code, "AAAAA-AAAA1")
    response = _track(client, registered.protocol_code, "AAAAA-AAAA2")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
