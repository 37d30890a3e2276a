"""``flask bench seed``: the benchmark data set (the generator itself lives in bench/dataset)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db

bench_cli = AppGroup("bench", help="Benchmark data (see bench/ and docs/performance.md).")


@bench_cli.command("seed")
@click.option("--scale", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option("--seed", "seed_value", type=int, default=2026, show_default=True)
@click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="UTC moment the data is built around (default: now); the same seed and moment give "
    "the same data.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write what the benchmark needs (ids, keys, logins) as JSON.",
)
def seed(scale: str, seed_value: int, now: datetime | None, manifest: Path | None) -> None:
    """Fill an empty, migrated database with the benchmark data set (refused in production)."""
    if not current_app.config["DEMO_DATA_ALLOWED"]:
        raise click.ClickException("Benchmark data is refused under the production configuration.")
    try:
        from bench.dataset import SeedError, build
    except ImportError as error:  # bench/ is not deployed with the application
        raise click.ClickException(f"bench/ is not importable here: {error}") from None
    from datetime import UTC

    started = time.perf_counter()
    try:
        result = build(
            db.session,
            scale=scale,
            seed=seed_value,
            now=now.replace(tzinfo=UTC) if now else None,
        )
    except SeedError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    elapsed = time.perf_counter() - started
    result["seconds"] = round(elapsed, 2)
    for line in result["timings"]:
        click.echo(f"  {line['step']:<14} {line['seconds']:7.2f} s  {line['made']}")
    click.echo(f"Benchmark data ({scale}, seed {seed_value}) in {elapsed:.1f} s.")
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(result, indent=2, default=str))
