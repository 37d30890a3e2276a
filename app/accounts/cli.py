from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.accounts import operations
from app.accounts.models import Role
from app.extensions import db
from app.stakeholders.models import Organisation

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", help="Display name (defaults to the e-mail address).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Repeat for several roles.",
)
@click.option("--organisation-id", type=int, help="Required for stakeholders.")
@click.option(
    "--password-prompt/--send-link",
    default=False,
    help="Type a password now, or (the default) e-mail a link to set one.",
)
def create(email, display_name, roles, organisation_id, password_prompt):
    """Create an account."""
    organisation = None
    if organisation_id is not None:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None:
            raise click.BadParameter(
                f"no organisation {organisation_id}", param_hint="--organisation-id"
            )
    password = None
    if password_prompt:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = operations.create_user(
            db.session,
            email=email,
            display_name=display_name or email,
            roles={Role(r) for r in roles},
            organisation=organisation,
            password=password,
        )
    except operations.AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    how = "with the password typed" if password else "a link to set the password is queued"
    click.echo(f"Created user {user.id} <{user.email}> ({', '.join(sorted(roles))}); {how}.")


@users_cli.command("list")
def list_users():
    """List accounts with their roles."""
    from app.accounts.models import User

    for user in db.session.scalars(select(User).order_by(User.id)):
        state = "active" if user.active else "inactive"
        click.echo(f"{user.id}\t{user.email}\t{','.join(sorted(user.roles))}\t{state}")
