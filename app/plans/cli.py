from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.plans.changes import backfill_changes

plans_cli = AppGroup("plans", help="Plans and their texts.")


@plans_cli.command("sync-changes")
def sync_changes_command() -> None:
    """Store the changes of versions made before changes were stored (run once after the
    upgrade that adds them; versions that already have stored changes are left alone)."""
    filled = backfill_changes(db.session)
    db.session.commit()
    click.echo(f"versions filled: {filled}")
