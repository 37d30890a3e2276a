"""The migrations build exactly the models' schema, and every step goes down and up again."""

from __future__ import annotations

import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core.db import modelled
from app.extensions import db
from config import TestConfig


@pytest.fixture
def empty_database(request, tmp_path, database_url):
    """A second, empty database of the kind the suite runs on."""
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server = make_url(database_url).set(database="postgres")
    name = f"traccia_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def migration_app(empty_database):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        yield app
        db.engine.dispose()


def _revisions(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    return list(reversed(list(script.walk_revisions())))


def test_upgrade_head_matches_the_models(migration_app):
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": True, "include_name": modelled},
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_migration_goes_down_and_up_again(migration_app):
    revisions = _revisions(migration_app)
    assert revisions, "no migrations found"
    for revision in revisions:
        flask_migrate.upgrade(revision=revision.revision)
        flask_migrate.downgrade(revision=revision.down_revision or "base")
        flask_migrate.upgrade(revision=revision.revision)
    flask_migrate.downgrade(revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    flask_migrate.upgrade()
    assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
