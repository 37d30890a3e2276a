"""The OpenAPI document and the server cannot drift: schemathesis generates requests from
``/api/v1/openapi.json`` (valid ones, and ones that break the schema) and checks every answer:
no 5xx, only documented status codes and content types, bodies that match the documented
schemas, and schema-breaking input refused (issue 11).

Bounded so that the suite stays fast: derandomised (a fixed seed), a few examples per operation
and mode, in process through the WSGI app (no network). Schemathesis's own pytest decorator
does not run under pytest 9 (it reads a ``Function._nodeid`` pytest no longer has), so each
operation's strategy is driven here with Hypothesis directly.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.api.conftest import bearer

MAX_EXAMPLES = 12
#: Fields the server judges against the round's data (keys in the text, the quoted words, file
#: contents, who may record intake), which a schema cannot express: a schema-valid value may be
#: refused there. Any other field refused for a schema-valid value is drift.
JUDGED_AGAINST_DATA = {"section", "paragraph", "quote", "attachments", "channel", "received_at"}


def schema_valid_input_is_accepted_as_valid(ctx, response, case):
    """What the schema allows, the server does not refuse as malformed (422 naming a field)."""
    if response.status_code != 422:
        return None
    fields = set((response.json().get("error") or {}).get("fields") or {})
    drift = fields - JUDGED_AGAINST_DATA
    if drift:
        raise AssertionError(f"the schema allows what the server refuses: {sorted(drift)}")
    return None


@pytest.fixture
def api_secret(config, make_round, make_comune, make_referent, make_token):
    # Many requests in a second, with and without the token: rate limits are tested elsewhere.
    config["API_AUTH_FAILURES_PER_MINUTE"] = config["API_RATE_LIMIT_PER_MINUTE"] = 10**6
    config["OPEN_API_RATE_LIMIT_PER_MINUTE"] = 10**6
    make_round()
    _, secret = make_token(make_referent(make_comune()))
    return secret


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_does_what_its_schema_says(app, api_secret, mode):
    operations = _operations(app)
    assert {op.label for op in operations} >= {
        "GET /me",
        "GET /rounds",
        "GET /rounds/{round_id}",
        "POST /rounds/{round_id}/observations",
        "GET /observations/{protocol}",
    }
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            extra = [schema_valid_input_is_accepted_as_valid] if mode.is_positive else []
            case.call_and_validate(
                headers=bearer(api_secret),
                additional_checks=extra,
                # It wants 2xx for every schema-valid body; ours may be refused for data the
                # schema cannot know (a key not in the text): the check above judges instead.
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        check()


def _post(client, secret, round_id, body, key=None):
    headers = bearer(secret) | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(f"/api/v1/rounds/{round_id}/observations", json=body, headers=headers)


def _refused_for(response, field) -> bool:
    if response.status_code != 422:
        return False
    return field in (response.get_json()["error"].get("fields") or {})


def test_the_schema_states_the_bounds_the_server_enforces(client, db, api_secret):
    """Just past each documented bound the server refuses; at the bound it does not."""
    from app.rounds.models import Round

    round_id = db.session.query(Round.id).scalar()
    document = client.get("/api/v1/openapi.json").get_json()
    fields = document["components"]["schemas"]["ObservationInput"]["properties"]
    base = {"title": "Titolo", "text": "<p>Testo</p>"}

    organisation = fields["organisation_id"]
    for value in (organisation["minimum"] - 1, organisation["maximum"] + 1):
        response = _post(client, api_secret, round_id, base | {"organisation_id": value})
        assert _refused_for(response, "organisation_id"), value
    for value in (organisation["minimum"], organisation["maximum"]):
        response = _post(client, api_secret, round_id, base | {"organisation_id": value})
        assert not _refused_for(response, "organisation_id"), value

    for name in ("title", "proposed_text", "section", "paragraph", "text"):  # a referent's
        longest = fields[name]["maxLength"]
        response = _post(client, api_secret, round_id, base | {name: "x" * (longest + 1)})
        assert _refused_for(response, name), name
        response = _post(client, api_secret, round_id, base | {name: "x" * longest})
        assert not _refused_for(response, name), name

    [key] = [p for p in document["components"]["parameters"].values() if p["in"] == "header"]
    assert key["name"] == "Idempotency-Key"
    schema = key["schema"]
    assert (
        _post(client, api_secret, round_id, base, "k" * (schema["maxLength"] + 1)).status_code
        == 400
    )
    assert _post(client, api_secret, round_id, base, "k" * schema["maxLength"]).status_code == 201
    assert re.fullmatch(schema["pattern"], "rho-2019/001 ~ok")
    assert not re.fullmatch(schema["pattern"], "tab\there")
    assert _post(client, api_secret, round_id, base, "tab\there").status_code == 400
