"""Shared fixtures.

The suite runs against SQLite (``--db=sqlite``, the default) or PostgreSQL (``--db=postgresql``,
using ``TEST_DATABASE_URL`` as the server to create a fresh database on, dropped at the end).
The schema is built by the migrations, then every test starts from empty tables.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db as _db
from app.plans import frozen as frozen_texts
from config import TestConfig

pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.mail",
    "tests.fixtures.browser",
    "tests.fixtures.rounds",
    "tests.fixtures.stakeholders",
    "tests.fixtures.plans",
]


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="database to run against (postgresql needs TEST_DATABASE_URL)",
    )


def pytest_report_header(config):
    return f"database: {config.getoption('--db')}"


# Databases ---------------------------------------------------------------------------------


def _postgres_server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        raise pytest.UsageError("--db=postgresql needs TEST_DATABASE_URL (a PostgreSQL server URL)")
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if request.config.getoption("--db") == "sqlite":
        path = tmp_path_factory.mktemp("db") / "traccia-test.db"
        yield f"sqlite:///{path}"
        return
    server = _postgres_server_url()
    name = f"traccia_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class FreshContextClient(FlaskClient):
    """Each request runs in its own application context, as in production.

    Without this, a request made while the test holds an app context would share the test's
    database session and ``g``, hiding bugs that only show across requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    import flask_migrate

    options = dict(TestConfig.SQLALCHEMY_ENGINE_OPTIONS)
    if database_url.startswith("postgresql"):
        # A test database is thrown away: commits need not wait for the disk (the suite's
        # thousands of commits and TRUNCATEs). Production keeps PostgreSQL's durable default.
        options["connect_args"] = {"options": "-c synchronous_commit=off"}
    application = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=database_url, SQLALCHEMY_ENGINE_OPTIONS=options
    )
    application.test_client_class = FreshContextClient
    with application.app_context():
        flask_migrate.upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


@contextmanager
def triggers_off(engine, tables: tuple[str, ...]):
    """A connection in a transaction on which the triggers of ``tables`` do not fire: raw SQL
    below the database's own guards, for setting up a test or emptying the tables.

    PostgreSQL: ``session_replication_role = replica`` for the transaction (the test user is a
    superuser), which turns every ordinary trigger off. SQLite: the tables' triggers are dropped
    and created again afterwards, whatever happened (DDL commits at once in Python's sqlite3,
    so they go first, in their own transaction)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            with connection.begin():
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                yield connection
            return
        triggers = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :t"
            ).bindparams(bindparam("t", expanding=True)),
            {"t": list(tables)},
        ).all()
        connection.commit()
        try:
            for name, _ in triggers:
                connection.execute(text(f'DROP TRIGGER "{name}"'))
            yield connection
            connection.commit()
        finally:
            connection.rollback()
            for _, sql in triggers:
                connection.execute(text(sql))
            connection.commit()


def wipe(database) -> None:
    """Empty every table (the audit trail too: raw SQL, below the ORM's append-only guard).

    PostgreSQL's TRUNCATE fires no row triggers, and the audit trail's TRUNCATE trigger is off
    for this transaction. On SQLite the parents go first, with foreign keys checked at commit,
    so that a row trigger looking up its parent (the status of a plan version, which refuses
    changes to a frozen text) finds nothing and lets the row go; the triggers that refuse every
    delete (the audit trail's, the stored text changes') are off for the deletes.
    """
    tables = [table.name for table in database.metadata.sorted_tables]
    with triggers_off(database.engine, ("audit_entries", "text_changes")) as connection:
        if database.engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            return
        connection.execute(text("PRAGMA defer_foreign_keys = ON"))
        for name in tables:
            connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - our table names


@pytest.fixture(autouse=True)
def app_context(app):
    """Every test runs inside an application context and starts from empty tables."""
    with app.app_context():
        yield
        _db.session.remove()
        wipe(_db)
        frozen_texts.clear()  # the ids of the next test's versions start again from 1


@pytest.fixture
def db(app_context):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def config(app):
    """The application's configuration; values changed by a test are restored after it."""
    saved = dict(app.config)
    yield app.config
    app.config.clear()
    app.config.update(saved)


# No unplanned network access ---------------------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect
