"""The bench-only SQL statement count: off by default, a header when switched on."""

from __future__ import annotations

from app import create_app
from app.core.sqlcount import HEADER
from config import TestConfig
from tests.conftest import FreshContextClient


def test_off_by_default(client):
    assert HEADER not in client.get("/login").headers


def test_counts_the_statements_of_each_request(app, db, make_user):
    bench = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        BENCH_SQL_COUNT=True,
    )
    bench.test_client_class = FreshContextClient  # each request in its own context, as served
    client = bench.test_client()
    assert client.get("/login").headers[HEADER] == "0"
    with bench.app_context():
        email = make_user().email
    from tests.fixtures.factories import login

    login(client, email)
    client.get("/")  # the first page after login may also write (the session's last use)
    first = int(client.get("/").headers[HEADER])
    assert first >= 1  # the user is loaded from the database
    assert int(client.get("/").headers[HEADER]) == first
