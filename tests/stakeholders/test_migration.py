"""The registry's migration keeps the organisations and users already there."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import text

from app.extensions import db
from tests.core.test_migrations import empty_database, migration_app  # noqa: F401 - fixtures

REGISTRY_REVISION = "30eb08758dab"


def test_existing_organisations_and_users_survive(migration_app):  # noqa: F811
    flask_migrate.upgrade(revision="bda9f11177ca")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, name, kind, active, created_at) VALUES "
                "(1, 'Comune di Rho', 'comune', true, CURRENT_TIMESTAMP), "
                "(2, 'Comune di Rho', 'comune', true, CURRENT_TIMESTAMP), "
                "(3, 'Politecnico di Milano', 'universita', true, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, display_name, active, session_token, "
                "organisation_id, created_at) VALUES "
                "(1, 'r@example.org', 'R', true, 'token', 2, CURRENT_TIMESTAMP)"
            )
        )
    flask_migrate.upgrade(revision=REGISTRY_REVISION)
    with db.engine.connect() as connection:
        names = connection.execute(text("SELECT id, name FROM organisations ORDER BY id")).all()
        user = connection.execute(text("SELECT organisation_id, primary_referent FROM users")).one()
    assert [tuple(row) for row in names] == [
        (1, "Comune di Rho"),
        (2, "Comune di Rho (2)"),  # names are unique from now on
        (3, "Politecnico di Milano"),
    ]
    assert user.organisation_id == 2 and not user.primary_referent
    flask_migrate.downgrade(revision="bda9f11177ca")
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM organisations")).scalar() == 3
