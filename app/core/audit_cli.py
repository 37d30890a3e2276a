"""``flask --app wsgi audit verify`` and ``audit forget-addresses``."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from app.core import audit
from app.core.db import utcnow
from app.extensions import db

audit_cli = AppGroup("audit", help="The audit trail: check its chain, forget old addresses.")


@audit_cli.command("verify")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def verify(batch: int) -> None:
    """Walk the chain from the first entry; exit 1 at the first broken link."""
    result = audit.verify(db.session, batch=batch)
    db.session.rollback()
    if result.ok:
        click.echo(f"audit chain intact: {result.checked} entries, last {result.last_seq}")
        return
    click.echo(
        f"audit chain broken at entry {result.broken.seq}: {result.broken.reason} "
        f"({result.checked} entries checked before it)",
        err=True,
    )
    raise SystemExit(1)


@audit_cli.command("forget-addresses")
@click.option("--days", type=click.IntRange(0, 36_500), default=90, show_default=True)
def forget_addresses(days: int) -> None:
    """Delete the client addresses of entries older than DAYS (the entries stay)."""
    count = audit.forget_addresses(db.session, before=utcnow() - timedelta(days=days))
    db.session.commit()
    click.echo(f"{count} addresses forgotten")
