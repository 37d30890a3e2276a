"""Idempotency-Key handling, on a small API endpoint that records an audit entry per call."""

from __future__ import annotations

import threading

import pytest
from flask import Blueprint, g
from sqlalchemy import func, select

from app import create_app
from app.api.views import api_view, authenticate_request, json_body
from app.core import security
from app.core.audit import AuditEntry, record
from app.core.json_errors import ApiError
from app.extensions import csrf
from app.extensions import db as _db
from config import TestConfig
from tests.api.conftest import bearer
from tests.conftest import FreshContextClient


@pytest.fixture
def echo_app(database_url, monkeypatch):
    """An application with one extra API endpoint: POST /api/v1/echo records what it gets."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url)
    app.test_client_class = FreshContextClient
    monkeypatch.setattr(security, "TOKEN_AUTHENTICATED_BLUEPRINTS", {"api", "echo"})

    extra = Blueprint("echo", __name__, url_prefix="/api/v1")
    extra.before_request(authenticate_request)
    csrf.exempt(extra)

    @extra.post("/echo")
    @api_view
    def echo():
        body = json_body()
        if "fail" in body:
            raise ApiError(422, "refused", fields={"fail": ["asked to fail"]})
        entry = record(_db.session, "test.echo", actor=g.api_token.user, text=body.get("text"))
        _db.session.flush()
        return {"entry": entry.id, "text": body.get("text")}, 201

    app.register_blueprint(extra)
    yield app
    with app.app_context():
        _db.engine.dispose()


def _count(db) -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "test.echo")
    )


def test_a_retry_with_the_same_key_replays_the_answer(echo_app, db, make_token):
    _, secret = make_token()
    client = echo_app.test_client()
    headers = {**bearer(secret), "Idempotency-Key": "abc-123"}
    first = client.post("/api/v1/echo", json={"text": "ciao"}, headers=headers)
    second = client.post("/api/v1/echo", json={"text": "ciao"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _count(db) == 1


def test_the_same_key_with_another_body_is_refused(echo_app, db, make_token):
    _, secret = make_token()
    client = echo_app.test_client()
    headers = {**bearer(secret), "Idempotency-Key": "abc-123"}
    client.post("/api/v1/echo", json={"text": "ciao"}, headers=headers)
    response = client.post("/api/v1/echo", json={"text": "altro"}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(db) == 1


def test_without_a_key_each_call_counts(echo_app, db, make_token):
    _, secret = make_token()
    client = echo_app.test_client()
    for _ in range(2):
        client.post("/api/v1/echo", json={"text": "ciao"}, headers=bearer(secret))
    assert _count(db) == 2


def test_errors_are_not_remembered_and_change_nothing(echo_app, db, make_token):
    _, secret = make_token()
    client = echo_app.test_client()
    headers = {**bearer(secret), "Idempotency-Key": "k"}
    refused = client.post("/api/v1/echo", json={"fail": True}, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {"fail": ["asked to fail"]}
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "not json", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"data": "{broken", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": ["a", "list"]}, 400, "invalid_json"),
    ],
)
def test_bodies_that_are_not_json_objects_are_refused(echo_app, make_token, kwargs, status, code):
    _, secret = make_token()
    response = echo_app.test_client().post("/api/v1/echo", headers=bearer(secret), **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_keys_are_per_token(echo_app, db, make_token):
    _, first = make_token()
    _, second = make_token()
    client = echo_app.test_client()
    for secret in (first, second):
        headers = {**bearer(secret), "Idempotency-Key": "shared"}
        assert client.post("/api/v1/echo", json={"text": "x"}, headers=headers).status_code == 201
    assert _count(db) == 2


def test_the_same_key_sent_twice_at_once_changes_things_once(echo_app, db, make_token):
    _, secret = make_token()
    headers = {**bearer(secret), "Idempotency-Key": "race"}
    barrier = threading.Barrier(4)
    answers: list = []

    def send():
        client = echo_app.test_client()
        barrier.wait()
        response = client.post("/api/v1/echo", json={"text": "x"}, headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 4
    assert {status for status, _ in answers} == {201}
    assert len({body["entry"] for _, body in answers}) == 1
    assert _count(db) == 1
