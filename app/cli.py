"""Commands that span the domains: ``worker run`` (the background work of every domain, in one
process) and ``demo load``/``demo logins`` (the demo data of every domain)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.demo import DEMO_LOGINS, load_demo
from app.extensions import db
from app.notifications.operations import deliver_due, worker_id
from app.reports.jobs import run_due
from app.rounds.operations import apply_due_transitions

worker_cli = AppGroup(
    "worker", help="Background work: rounds by the clock, the mail outbox, the annex files."
)
demo_cli = AppGroup("demo", help="Demo data for development.")


def one_pass(worker: str) -> dict:
    """Open, close and remind rounds that are due (which may queue mail), send mail, then make
    at most one annex file (minutes for a large round: run a second worker to keep mail going
    meanwhile; they never take the same work)."""
    counts = apply_due_transitions(db.session)
    db.session.commit()
    counts.update(deliver_due(db.session, worker=worker))
    counts.update(run_due(db.session, worker=worker))
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
