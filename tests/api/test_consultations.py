"""The intake API's rounds and observations."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.observations.models import Channel, Observation
from app.plans.tree import load_tree
from tests.api.conftest import bearer
from tests.observations.test_files import MINIMAL_PDF


@pytest.fixture
def referent_token(db, make_round, make_comune, make_referent, make_token):
    round_ = make_round()
    comune = make_comune("Comune di Rho")
    referent = make_referent(comune)
    _, secret = make_token(referent)
    return round_, comune, referent, secret


def _count(db) -> int:
    return db.session.scalar(select(func.count(Observation.id)))


def test_rounds_are_listed_with_their_text(client, db, referent_token, make_round):
    round_, *_, secret = referent_token
    listing = client.get("/api/v1/rounds", headers=bearer(secret)).get_json()
    assert [r["id"] for r in listing["rounds"]] == [round_.id]
    assert listing["rounds"][0]["accepting"] is True
    detail = client.get(f"/api/v1/rounds/{round_.id}", headers=bearer(secret)).get_json()
    tree = load_tree(db.session, round_.version)
    assert [s["key"] for s in detail["sections"]] == [n.section.key for n in tree.walk()]


def test_submit_with_an_idempotency_key(client, db, referent_token):
    round_, _comune, _referent, secret = referent_token
    paragraph = next(p for _, p in load_tree(db.session, round_.version).paragraphs())
    quote = paragraph.text.split()[0]
    body = {
        "kind": "amendment",
        "title": "Emendamento",
        "text": "<p>Proponiamo <script>x</script>una modifica.</p>",
        "paragraph": paragraph.key,
        "quote": {"text": quote},
        "proposed_text": "Nuovo testo",
        "attachments": [
            {"filename": "allegato.pdf", "content": base64.b64encode(MINIMAL_PDF).decode()}
        ],
    }
    headers = {**bearer(secret), "Idempotency-Key": "rho-2019-001"}
    first = client.post(f"/api/v1/rounds/{round_.id}/observations", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    receipt = first.get_json()
    assert receipt["protocol"] == f"{round_.protocol_prefix}-0001"
    assert receipt["verification_code"] and len(receipt["digest"]) == 64
    again = client.post(f"/api/v1/rounds/{round_.id}/observations", json=body, headers=headers)
    assert again.status_code == 201 and again.get_json() == receipt
    observation = db.session.scalars(select(Observation)).one()
    assert observation.channel is Channel.API and "<script" not in observation.body_html
    assert observation.quote_text == quote and observation.attachments[0].size == len(MINIMAL_PDF)
    lookup = client.get(f"/api/v1/observations/{receipt['protocol']}", headers=bearer(secret))
    assert lookup.get_json()["digest"] == receipt["digest"]
    assert "verification_code" not in lookup.get_json()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"title": None}, 422, "invalid_input"),
        ({"text": 42}, 422, "invalid_input"),
        ({"kind": "complaint"}, 422, "invalid_input"),
        ({"section": "nope"}, 422, "invalid_input"),
        ({"paragraph": "PARA", "quote": {"text": "parole che non ci sono"}}, 422, "invalid_input"),
        ({"attachments": [{"filename": "a.pdf", "content": "%%%"}]}, 422, "invalid_input"),
        (
            {
                "attachments": [
                    {"filename": "a.pdf", "content": base64.b64encode(b"<html>").decode()}
                ]
            },
            422,
            "invalid_input",
        ),
        ({"organisation_id": 999999}, 403, "forbidden"),
        ({"consent_public_name": "false"}, 422, "invalid_input"),
        ({"quote": "some words"}, 422, "invalid_input"),
        ({"organisation_id": True}, 422, "invalid_input"),
        ({"organisation_id": {"a": 1}}, 422, "invalid_input"),
        ({"organisation_id": 10**20}, 422, "invalid_input"),
        ({"channel": "pec", "organisation_id": 1}, 403, "forbidden"),
    ],
)
def test_bad_submissions_get_json_errors_and_store_nothing(
    client, db, referent_token, change, status, code
):
    round_, _comune, _referent, secret = referent_token
    body = {"title": "Titolo", "text": "<p>Testo</p>", **change}
    if change.get("paragraph") == "PARA":
        body["paragraph"] = next(
            p for _, p in load_tree(db.session, round_.version).paragraphs()
        ).key
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations", json=body, headers=bearer(secret)
    )
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert _count(db) == 0


def test_too_large_attachment_is_413(client, db, referent_token, config):
    round_, *_, secret = referent_token
    config["ATTACHMENT_MAX_BYTES"] = 1000
    body = {
        "title": "T",
        "text": "<p>x</p>",
        "attachments": [
            {"filename": "big.pdf", "content": base64.b64encode(MINIMAL_PDF + b"0" * 5000).decode()}
        ],
    }
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations", json=body, headers=bearer(secret)
    )
    assert response.status_code == 413
    assert _count(db) == 0


def test_a_closed_round_is_409(client, db, referent_token):
    import time_machine

    round_, *_, secret = referent_token
    with time_machine.travel(round_.closes_at + timedelta(seconds=1), tick=False):
        response = client.post(
            f"/api/v1/rounds/{round_.id}/observations",
            json={"title": "T", "text": "<p>x</p>"},
            headers=bearer(secret),
        )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "round_not_accepting"
    assert _count(db) == 0


def test_an_invisible_round_is_404_and_an_ineligible_referent_403(
    client, db, make_round, make_comune, make_referent, make_token
):
    from app.rounds.models import RoundState
    from app.stakeholders.models import OrganisationKind

    draft = make_round(state=RoundState.DRAFT)
    round_ = make_round()
    _, secret = make_token(make_referent(make_comune(kind=OrganisationKind.SINDACATO)))
    assert client.get(f"/api/v1/rounds/{draft.id}", headers=bearer(secret)).status_code == 404
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations",
        json={"title": "T", "text": "x"},
        headers=bearer(secret),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert _count(db) == 0


def test_staff_record_a_pec_through_the_api(client, db, make_round, make_comune, make_token):
    round_ = make_round()
    comune = make_comune(pec="protocollo@pec.example")
    _, secret = make_token(None, Role.MODERATOR)
    body = {
        "channel": "pec",
        "organisation_id": comune.id,
        "title": "PEC del Comune",
        "text": "<p>Sintesi</p>",
        "received_at": "2020-01-01T10:00:00Z",
        "attachments": [{"filename": "pec.pdf", "content": base64.b64encode(MINIMAL_PDF).decode()}],
    }
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations", json=body, headers=bearer(secret)
    )
    assert response.status_code == 422  # received before the round opened
    body["received_at"] = (round_.opens_at + timedelta(hours=1)).isoformat()
    response = client.post(
        f"/api/v1/rounds/{round_.id}/observations", json=body, headers=bearer(secret)
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["channel"] == "pec"
