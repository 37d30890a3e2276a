"""The migrations build exactly the models' schema, and every step goes down and up again."""

from __future__ import annotations

import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core.db import modelled
from app.extensions import db
from config import TestConfig

#: The migration that gives registered observations their point 1.
POINTS_REVISION = "779d1c99085b"
#: The migration that chains the audit trail.
AUDIT_CHAIN_REVISION = "c4a1f0e9d2b7"


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


def _upgrade_to_parent_of(revision: str) -> None:
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    flask_migrate.upgrade(revision=script.get_revision(revision).down_revision)


def test_registered_observations_get_point_one_from_the_migration(migration_app):
    """Data written before the points migration: it gives each registered observation point 1
    with its anchor and whole text, and drafts none."""
    from datetime import UTC, datetime, timedelta

    _upgrade_to_parent_of(POINTS_REVISION)
    tables = db.metadata.tables
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with db.engine.begin() as connection:

        def add(table, **values):
            return connection.execute(tables[table].insert().values(**values)).inserted_primary_key[
                0
            ]

        user = add("users", email="referente@example.org", display_name="Referente")
        plan = add("plans", slug="psm", title="Piano", owner="Città metropolitana")
        version = add("plan_versions", plan_id=plan, number=1, label="Bozza")
        section = add("plan_sections", version_id=version, key="s1", position=0, title="Uno")
        paragraph = add(
            "plan_paragraphs",
            version_id=version,
            section_id=section,
            key="p1",
            position=0,
            html="<p>Il testo del piano.</p>",
            text="Il testo del piano.",
        )
        connection.execute(
            text("UPDATE plan_versions SET status = 'frozen', frozen_at = :t WHERE id = :v"),
            {"t": now, "v": version},
        )
        round_ = add(
            "rounds",
            plan_version_id=version,
            title="Consultazione",
            opens_at=now,
            closes_at=now + timedelta(days=10),
            protocol_prefix="PSM2019",
        )

        def observation(number, state="submitted", **anchor):
            return add(
                "observations",
                round_id=round_,
                author_id=user,
                state=state,
                protocol_number=number,
                protocol_code=number and f"PSM2019-{number:04d}",
                submitted_at=number and now,
                withdrawn_at=now if state == "withdrawn" else None,
                title="Titolo",
                body_html="<p>Sei parole di testo qui presenti.</p>",
                body_text="Sei parole di testo qui presenti.",
                **anchor,
            )

        passage = observation(
            1,
            target="passage",
            section_id=section,
            paragraph_id=paragraph,
            quote_text="testo del",
            quote_start=3,
            quote_end=12,
        )
        withdrawn = observation(2, state="withdrawn", target="section", section_id=section)
        observation(None, state="draft")
    flask_migrate.upgrade(revision=POINTS_REVISION)
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT observation_id, number, target, section_id, paragraph_id, quote_text, "
                "quote_start, quote_end, excerpt_start, excerpt_end, summary, state "
                "FROM points ORDER BY observation_id"
            )
        ).all()
    length = len("Sei parole di testo qui presenti.")
    assert [tuple(row) for row in rows] == [
        (passage, 1, "passage", section, paragraph, "testo del", 3, 12, 0, length, None, "active"),
        (withdrawn, 1, "section", section, None, None, None, None, 0, length, None, "active"),
    ]
    flask_migrate.upgrade()


def test_entries_written_before_the_chain_are_chained_by_the_migration(migration_app):
    from datetime import UTC, datetime, timedelta

    from app.core import audit

    _upgrade_to_parent_of(AUDIT_CHAIN_REVISION)
    start = datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)
    with db.engine.begin() as connection:
        for number in range(4):
            connection.execute(
                text(
                    "INSERT INTO audit_entries (occurred_at, action, object_type, object_id, "
                    "ip_address, details) VALUES (:at, :action, 'users', :id, :ip, :details)"
                ),
                {
                    "at": (start + timedelta(minutes=number)).replace(tzinfo=None)
                    if db.engine.dialect.name == "sqlite"
                    else start + timedelta(minutes=number),
                    "action": "auth.login_failed",
                    "id": str(number),
                    "ip": "203.0.113.7" if number == 1 else None,
                    "details": '{"reason": "bad_credentials", "città": "è"}',
                },
            )
    flask_migrate.upgrade(revision=AUDIT_CHAIN_REVISION)
    with db.session() as session:
        result = audit.verify(session)
        assert result.ok and result.checked == 4
        entries = session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.seq)).all()
        assert [e.object_id for e in entries] == ["0", "1", "2", "3"]
        assert [e.address.ip_address if e.address else None for e in entries] == [
            None,
            "203.0.113.7",
            None,
            None,
        ]
        audit.record(session, "test.after_the_migration")
        session.commit()
        assert audit.verify(session).checked == 5
    flask_migrate.upgrade()
