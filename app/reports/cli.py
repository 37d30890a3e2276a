"""``flask reports annex``: the council annex of a round, written to a file outside a request
(the annex of a large round takes minutes to lay out)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.bounds import DB_INT_MAX
from app.core.files import write_atomically
from app.extensions import db
from app.reports import annex
from app.reports.permissions import report_is_draft
from app.rounds.models import Round

reports_cli = AppGroup("reports", help="The traceability report of a round.")


@reports_cli.command("annex")
@click.argument("round_id", type=click.IntRange(1, DB_INT_MAX))
@click.option("--format", "fmt", type=click.Choice(["pdf", "odt"]), default="pdf")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--language", type=click.Choice(["it", "en"]), default=None)
def annex_command(round_id: int, fmt: str, output: Path | None, language: str | None) -> None:
    """Write the annex "controdeduzioni alle osservazioni" of a round (PDF/A or ODT); a round
    not yet concluded gives a draft, marked so on every page."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"No round has the id {round_id}.")
    draft = report_is_draft(round_)
    output = output or Path(f"annex-{round_id}.{fmt}")
    write = annex.write_pdf if fmt == "pdf" else annex.write_odt
    started = time.perf_counter()

    def progress(done: int, total: int | None) -> None:
        click.echo(f"{done}/{total} observations", err=True)

    digest = write_atomically(
        output.resolve(),
        lambda out: write(
            db.session, round_id, draft=draft, out=out, language=language, progress=progress
        ),
    )
    seconds = time.perf_counter() - started
    size = output.stat().st_size
    current_app.logger.info("annex of round %s written (%s)", round_id, fmt)
    click.echo(
        f"{output}: {size} bytes in {seconds:.1f} s{' (draft)' if draft else ''}; "
        f"data digest {digest}"
    )
