from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.demo import DEMO_LOGINS
from tests.fixtures.factories import login


def test_users_create_with_a_link(app, db):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--email",
            "Boss@Example.org",
            "--role",
            "admin",
            "--role",
            "editor",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert user.email == "boss@example.org"
    assert user.roles == {Role.ADMIN, Role.EDITOR}


def test_users_create_with_a_typed_password(app, client, db):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--email",
            "ed@example.org",
            "--role",
            "editor",
            "--password-prompt",
        ],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert login(client, "ed@example.org", password="a long enough password").status_code == 302


def test_users_create_refuses_a_stakeholder_without_organisation(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "s@example.org", "--role", "stakeholder"]
    )
    assert result.exit_code != 0
    assert "organizzazione" in result.output  # Italian, the default language
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_demo_load_is_idempotent_and_its_logins_work(app, client, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and "created" in first.output
    count = db.session.scalar(select(func.count(User.id)))
    second = runner.invoke(args=["demo", "load"])
    assert "nothing changed" in second.output
    assert db.session.scalar(select(func.count(User.id))) == count == len(DEMO_LOGINS)
    for demo in DEMO_LOGINS:
        fresh = app.test_client()
        assert login(fresh, demo.email, password=demo.password).status_code == 302


def test_demo_load_is_refused_in_production(app, config, db):
    config["DEMO_DATA_ALLOWED"] = False
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "production" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
