from __future__ import annotations

import pytest

from app import create_app
from config import TestConfig

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-directory/traccia.db",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/traccia?connect_timeout=2",
}


def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.fixture(params=sorted(UNREACHABLE))
def broken_app(request):
    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE[request.param], WTF_CSRF_ENABLED=False
    )
    return app


def test_healthz_is_503_when_the_database_is_unreachable(broken_app):
    response = broken_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unavailable"}


def test_a_page_needing_the_database_answers_503_without_a_stack_trace(broken_app):
    response = broken_app.test_client().post(
        "/login", data={"email": "someone@example.org", "password": "whatever-it-is"}
    )
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "OperationalError" not in body
    assert "temporaneamente non disponibile" in body or "temporarily unavailable" in body
