from __future__ import annotations

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
