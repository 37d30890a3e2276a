from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from app.extensions import db
from app.notifications.operations import deliver_due, worker_id

outbox_cli = AppGroup("outbox", help="The mail outbox worker.")


@outbox_cli.command("run")
@click.option("--once", is_flag=True, help="Make one pass over due messages, then stop.")
@click.option("--interval", type=float, default=None, help="Seconds between passes.")
def run(once: bool, interval: float | None) -> None:
    """Send pending e-mail from the outbox, retrying failures with backoff."""
    from flask import current_app

    interval = interval if interval is not None else current_app.config["OUTBOX_POLL_SECONDS"]
    worker = worker_id()
    click.echo(f"outbox worker {worker} started", err=True)
    while True:
        counts = deliver_due(db.session, worker=worker)
        db.session.remove()
        if once or any(counts.values()):
            click.echo(
                "sent {sent}, to retry {retry}, failed {failed}, stale claims {stale}".format(
                    **counts
                ),
                err=True,
            )
        if once:
            return
        time.sleep(interval)
