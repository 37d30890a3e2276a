from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db
from app.stakeholders import imports
from app.stakeholders.csvfiles import CsvError

orgs_cli = AppGroup("orgs", help="The stakeholder registry: comuni, zones, organisations.")


def _report(plan: imports.ImportPlan, *, dry_run: bool) -> None:
    """Print the plan row by row (problems named), commit it or say why nothing was written."""
    with force_locale("en"):
        for problem in plan.problems:
            click.echo(f"file: {problem}")
        for row in plan.rows:
            if row.action == imports.RowAction.UNCHANGED:
                continue
            click.echo(f"line {row.line}: {row.action.value}: {row.label}")
            for problem in row.problems:
                click.echo(f"    {problem}")
    counts = plan.counts
    summary = (
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['unchanged']} unchanged, {counts['reject']} rejected"
    )
    if not plan.ok:
        db.session.rollback()
        raise click.ClickException(f"{summary}: nothing was imported.")
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: {summary}; nothing was written.")
        return
    db.session.commit()
    if counts["create"] or counts["update"]:
        click.echo(
            f"Imported: {counts['create']} created, {counts['update']} updated, "
            f"{counts['unchanged']} unchanged."
        )
    else:
        click.echo(f"Nothing changed: all {counts['unchanged']} rows were already there.")


@orgs_cli.command("import-comuni")
@click.option("--province", required=True, help="Car-plate code of the province, e.g. MI.")
@click.option("--dry-run", is_flag=True, help="Show what would change, write nothing.")
def import_comuni(province: str, dry_run: bool) -> None:
    """Create the comuni of a metropolitan city from ISTAT's list (idempotent)."""
    try:
        plan = imports.import_comuni_of_province(db.session, province, apply=not dry_run)
    except CsvError as error:
        with force_locale("en"):
            raise click.ClickException(str(error.message)) from None
    _report(plan, dry_run=dry_run)


@orgs_cli.command("import-zones")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change, write nothing.")
def import_zones(path: str, dry_run: bool) -> None:
    """Assign comuni to zone omogenee from a CSV (columns istat_code, zone)."""
    with open(path, "rb") as handle:
        raw = handle.read()
    _report(imports.import_zone_assignments(db.session, raw, apply=not dry_run), dry_run=dry_run)


@orgs_cli.command("import-organisations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change, write nothing.")
def import_organisations(path: str, dry_run: bool) -> None:
    """Create or update organisations from a CSV (columns name, kind, istat_code, zone, pec,
    email, website, groups)."""
    with open(path, "rb") as handle:
        raw = handle.read()
    _report(imports.import_organisations(db.session, raw, apply=not dry_run), dry_run=dry_run)
