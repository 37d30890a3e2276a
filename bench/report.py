"""The traceability report (issue 14) on the benchmark data set: its pages (server time and SQL
statements) and its exports (rows per second and the growth of the resident set while one is
streamed), and the council annex (PDF/A and ODT: seconds and resident-set growth), with every
admissible point decided (bench/dataset: ``decisions``).

    .venv/bin/python bench/report.py [--scale small|large] [--db sqlite|postgresql] [--repeat 10]
                                     [--no-annex]

Seeds a fresh database with ``bench.dataset.build``, then, as the moderator, requests each page
through the Flask test client (``bench.traceability.measure``: median and p95 after two warm-up
requests, statements per request), and streams each export to its end without keeping it,
counting its rows; the resident set's peak is reset before each export (``/proc/self/
clear_refs``) and read after (``VmHWM``), so the growth printed is what streaming that export
took on top of what the process held.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.deadline_rush import Database  # noqa: E402
from bench.traceability import measure  # noqa: E402


def _status(field: str) -> int:
    """A field of /proc/self/status in kB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def stream(client, path: str) -> tuple[float, int, int, int]:
    """(seconds, bytes, lines, resident-set growth in kB) of one export read to its end."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now
    before = _status("VmRSS")
    started = time.perf_counter()
    response = client.get(path, buffered=False)
    assert response.status_code == 200, (path, response.status_code)
    size = lines = 0
    for piece in response.response:
        piece = piece if isinstance(piece, bytes) else piece.encode()
        size += len(piece)
        lines += piece.count(b"\n")
    response.close()
    return time.perf_counter() - started, size, lines, _status("VmHWM") - before


def annex_file(app, round_id: int, fmt: str) -> tuple[float, int, int]:
    """(seconds, bytes, resident-set growth in kB) of the annex written as the worker writes it:
    into a file, its data read through a session of its own."""
    import tempfile

    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.reports import annex

    write = annex.write_pdf if fmt == "pdf" else annex.write_odt
    with app.app_context(), tempfile.TemporaryFile() as out:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")
        before = _status("VmRSS")
        started = time.perf_counter()
        with Session(db.engine) as session:
            write(session, round_id, draft=True, out=out)
        seconds = time.perf_counter() - started
        return seconds, out.tell(), _status("VmHWM") - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-annex", action="store_true", help="skip the PDF/A and ODT annex")
    args = parser.parse_args()
    database = Database(args.db)
    try:
        import flask_migrate
        from sqlalchemy import func, select

        from app import create_app
        from app.extensions import db
        from app.observations.models import Point
        from app.rounds.models import Round, RoundState
        from bench.dataset import PASSWORD, build
        from config import TestConfig
        from tests.conftest import FreshContextClient
        from tests.fixtures.factories import login

        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database.url)
        app.test_client_class = FreshContextClient
        with app.app_context():
            started = time.perf_counter()
            flask_migrate.upgrade()
            manifest = build(db.session, scale=args.scale)
            db.session.commit()
            if args.db == "postgresql":
                db.engine.dispose()
                with db.engine.begin() as connection:
                    connection.exec_driver_sql("ANALYZE")
            seeded = time.perf_counter() - started
            round_id = manifest["round_id"]
            points = db.session.scalar(select(func.count()).select_from(Point))
            from app.reports.queries import registered

            listed = db.session.scalar(
                registered(db.session.get(Round, round_id))
                .with_only_columns(func.count())
                .order_by(None)
            )
            state = db.session.get(Round, round_id).state
            db.session.remove()
        gc.collect()
        gc.freeze()
        print(
            f"report: db={args.db} scale={args.scale} observations={manifest['observations']} "
            f"points={points} round {state.value if isinstance(state, RoundState) else state} "
            f"(seeded in {seeded:.0f} s)"
        )
        client = app.test_client()
        login(client, manifest["moderator_email"], PASSWORD)
        base = f"/reports/rounds/{round_id}"
        last = -(-listed // 20)  # the last page of the report by observation
        section = manifest.get("response_section_key")
        views = [
            ("by observation, page 1", f"{base}/"),
            (f"by observation, page {last}", f"{base}/?page={last}"),
            ("by observation, not accepted", f"{base}/?outcome=not_accepted"),
            ("statistics", f"{base}/statistics"),
            ("by section: the index", f"{base}/sections/"),
        ]
        if section:
            views.append(("by section: the busiest section", f"{base}/sections/{section}"))
        with app.app_context():
            engine = db.engine
        for label, path in views:
            median, p95, cpu, statements, size = measure(
                app, engine, client, "get", path, None, args.repeat
            )
            print(
                f"  {label}: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (this "
                f"process's CPU {cpu * 1000:.0f} ms), {'/'.join(map(str, sorted(statements)))} "
                f"SQL statements, {size / 1024:.0f} KB"
            )
        for fmt in ("csv", "jsonl", "ods"):
            path = f"{base}/export.{fmt}" if fmt != "ods" else f"{base}/export.ods"
            seconds, size, lines, growth = stream(client, path)
            rows = lines - 1 if fmt == "csv" else lines if fmt == "jsonl" else points
            print(
                f"  export {fmt}: {seconds:.1f} s, {size / 1024 / 1024:.1f} MB, about "
                f"{rows / seconds:,.0f} rows/s, resident set +{growth / 1024:.1f} MB"
            )
        if not args.no_annex:
            for fmt in ("odt", "pdf"):
                seconds, size, growth = annex_file(app, round_id, fmt)
                print(
                    f"  annex {fmt}: {seconds:.1f} s, {size / 1024 / 1024:.1f} MB, about "
                    f"{points / seconds:,.0f} points/s, resident set +{growth / 1024:.0f} MB"
                )
    finally:
        database.drop()


if __name__ == "__main__":
    main()
