from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.demo import DEMO_LOGINS, load_demo
from app.extensions import db

demo_cli = AppGroup("demo", help="Demo data for development.")


@demo_cli.command("load")
def load() -> None:
    """Load the demo data (idempotent; refused under the production configuration)."""
    if not current_app.config["DEMO_DATA_ALLOWED"]:
        raise click.ClickException("Demo data is refused under the production configuration.")
    created = load_demo(db.session)
    db.session.commit()
    click.echo(
        f"Demo data: {len(created)} items created."
        if created
        else "Demo data: already loaded, nothing changed."
    )


@demo_cli.command("logins")
def logins() -> None:
    """Print the demo logins."""
    click.echo("Demo logins (password after the colon):")
    for login in DEMO_LOGINS:
        roles = ", ".join(role.value for role in login.roles)
        click.echo(f"  {login.email:32} : {login.password:22} ({roles})")
