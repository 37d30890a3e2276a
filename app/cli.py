"""``flask --app wsgi worker run``: the background work of every domain, in one process."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.notifications.operations import deliver_due, worker_id
from app.rounds.operations import apply_due_transitions

worker_cli = AppGroup("worker", help="Background work: rounds by the clock, then the mail outbox.")


def one_pass(worker: str) -> dict:
    """Open, close and remind rounds that are due (which may queue mail), then send mail."""
    counts = apply_due_transitions(db.session)
    db.session.commit()
    counts.update(deliver_due(db.session, worker=worker))
    db.session.remove()
    return counts


@worker_cli.command("run")
@click.option("--once", is_flag=True, help="Make one pass, then stop.")
@click.option("--interval", type=float, default=None, help="Seconds between passes.")
def run(once: bool, interval: float | None) -> None:
    interval = interval if interval is not None else current_app.config["OUTBOX_POLL_SECONDS"]
    worker = worker_id()
    click.echo(f"worker {worker} started", err=True)
    while True:
        counts = one_pass(worker)
        if once or any(counts.values()):
            click.echo(", ".join(f"{name} {value}" for name, value in counts.items()), err=True)
        if once:
            return
        time.sleep(interval)
