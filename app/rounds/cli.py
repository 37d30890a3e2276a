from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.rounds.operations import apply_due_transitions

rounds_cli = AppGroup("rounds", help="Consultation rounds.")


@rounds_cli.command("tick")
def tick() -> None:
    """Open, close and remind rounds whose time has come (the worker runs this too)."""
    counts = apply_due_transitions(db.session)
    db.session.commit()
    click.echo("opened {opened}, closed {closed}, reminders {reminded}".format(**counts))
