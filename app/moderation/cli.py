from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from app.extensions import db
from app.moderation.operations import reindex

moderation_cli = AppGroup("moderation", help="The moderation workspace.")


@moderation_cli.command("reindex")
def reindex_command() -> None:
    """Read the attachments not read yet (each once) and rewrite every search document."""
    counts = reindex(db.session, commit=db.session.commit)
    click.echo("observations {observations}, attachments read {attachments}".format(**counts))


@moderation_cli.command("suggest")
@click.argument("round_id", type=int)
def suggest_command(round_id: int) -> None:
    """Compute afresh the suggestions of every active point of a round, outside a request
    (seconds for a round of 20,000 points; the workspace's button does the same)."""
    from app.moderation.suggestions import suggest_round
    from app.rounds.models import Round

    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"No round has the id {round_id}.")
    started = time.perf_counter()
    stored = suggest_round(db.session, round_, actor=None)
    db.session.commit()
    click.echo(f"round {round_id}: {stored} suggestions in {time.perf_counter() - started:.1f} s")
