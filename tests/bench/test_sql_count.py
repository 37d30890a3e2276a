"""The bench-only SQL statement count: off by default, a header when switched on."""

from __future__ import annotations

from app import create_app
from app.core.sqlcount import HEADER
from config import TestConfig


def test_off_by_default(client):
    assert HEADER not in client.get("/login").headers


def test_counts_the_statements_of_each_request(app, db, make_user):
    bench = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        BENCH_SQL_COUNT=True,
    )
    client = bench.test_client()
    with bench.app_context():
        assert client.get("/login").headers[HEADER] == "0"
        user = make_user()
        from tests.fixtures.factories import login

        login(client, user)
        first = int(client.get("/").headers[HEADER])
        assert first >= 1  # the user is loaded from the database
        assert int(client.get("/").headers[HEADER]) == first
