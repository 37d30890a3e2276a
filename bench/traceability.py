"""Decisions and traceability (issue 13) on the benchmark data set: the coverage page, the
response version's section with "perché è cambiato?", the comparison consulted → response and
the author's trace page, with every admissible point decided (bench/dataset: ``decisions``).

    .venv/bin/python bench/traceability.py [--scale small|large] [--db sqlite|postgresql]
                                           [--repeat 15]

Seeds a fresh database with ``bench.dataset.build`` (as ``flask bench seed`` does), then
requests each page through the Flask test client, logged in as the user who reads it (each
request in its own application context, as served), and prints for each the median and p95
server time over ``--repeat`` requests after two warm-up ones, and the SQL statements of one
request (counted with a ``before_cursor_execute`` listener; every request must run as many).
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.deadline_rush import Database  # noqa: E402

WARM_UP = 2


def pages(manifest: dict) -> list[tuple[str, str, str | None, str, dict | None]]:
    """(label, manifest key of the user, method, path, form): the pages measured."""
    plan = f"/plans/{manifest['plan_slug']}"
    consulted, response = manifest["consulted_number"], manifest["response_number"]
    return [
        ("coverage page", "moderator_email", "get",
         f"/decisions/rounds/{manifest['round_id']}/coverage", None),
        ("response section with 'perché è cambiato?'", "editor_email", "get",
         f"{plan}/v{response}/s/{manifest['response_section_key']}", None),
        ("comparison consulted → response", "editor_email", "get",
         f"{plan}/diff?old={consulted}&new={response}", None),
        ("author trace page", "trace_author_email", "get",
         f"/decisions/trace/{manifest['trace_observation_id']}", None),
        ("trace page from the receipt (POST)", None, "post", "/decisions/trace",
         {"protocol": manifest["trace_protocol"], "code": manifest["trace_code"]}),
    ]  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(app, engine, client, method: str, path: str, form, repeat: int):
    from sqlalchemy import event

    from tests.fixtures.factories import csrf_token

    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    data = {"csrf_token": csrf_token(client, path), **form} if method == "post" else None

    def request():
        return client.get(path) if data is None else client.post(path, data=data)

    times, cpu, statements = [], [], set()
    event.listen(engine, "before_cursor_execute", count)
    try:
        for attempt in range(WARM_UP + repeat):
            counter["n"] = 0
            started, started_cpu = time.perf_counter(), time.process_time()
            response = request()
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
            if attempt >= WARM_UP:
                times.append(elapsed)
                cpu.append(time.process_time() - started_cpu)
                statements.add(counter["n"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return (
        statistics.median(times),
        percentile(times, 0.95),
        statistics.median(cpu),
        statements,
        len(response.data),
    )


def profile(client, method: str, path: str, form) -> None:
    import cProfile
    import pstats

    from tests.fixtures.factories import csrf_token

    data = {"csrf_token": csrf_token(client, path), **form} if method == "post" else None
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(path) if data is None else client.post(path, data=data)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def keep(database, path: Path, manifest: dict) -> None:
    if database.kind == "sqlite":
        shutil.copy(database.url.removeprefix("sqlite:///"), path.with_suffix(".db"))
    else:
        manifest["kept_database"] = f"{database.name}_kept"
        with database._admin.connect() as connection:
            connection.exec_driver_sql(
                f'CREATE DATABASE "{manifest["kept_database"]}" TEMPLATE "{database.name}"'
            )
        print(f"kept: {manifest['kept_database']} (drop it when done)")
    path.write_text(json.dumps(manifest))


def restore(database, path: Path, manifest: dict) -> None:
    if database.kind == "sqlite":
        shutil.copy(path.with_suffix(".db"), database.url.removeprefix("sqlite:///"))
    else:
        with database._admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{database.name}"')
            connection.exec_driver_sql(
                f'CREATE DATABASE "{database.name}" TEMPLATE "{manifest["kept_database"]}"'
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--keep",
        type=Path,
        help="a manifest file: if it exists, start from the database seeded with it (a copy); "
        "else seed and keep a copy beside it (SQLite: a file, PostgreSQL: a database to drop "
        "by hand)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="then profile one request of each page (cProfile)"
    )
    args = parser.parse_args()
    database = Database(args.db)
    try:
        import flask_migrate
        from sqlalchemy import func, select

        from app import create_app
        from app.decisions.links import DecisionLink
        from app.extensions import db
        from app.observations.models import Point
        from app.plans.changes import ChangeScope, TextChange
        from bench.dataset import PASSWORD, build
        from config import TestConfig
        from tests.conftest import FreshContextClient
        from tests.fixtures.factories import login

        # The receipt form is rate-limited per client: the benchmark posts it more often.
        app = create_app(
            TestConfig, SQLALCHEMY_DATABASE_URI=database.url, TRACK_ATTEMPTS_PER_MINUTE=10_000
        )
        app.test_client_class = FreshContextClient
        with app.app_context():
            started = time.perf_counter()
            if args.keep and args.keep.exists():
                manifest = json.loads(args.keep.read_text())
                restore(database, args.keep, manifest)
            else:
                flask_migrate.upgrade()
                manifest = build(db.session, scale=args.scale)
                db.session.commit()
                db.engine.dispose()
                if args.db == "postgresql":  # fresh statistics, as a served database has
                    with db.engine.begin() as connection:
                        connection.exec_driver_sql("ANALYZE")
                    db.engine.dispose()
                if args.keep:
                    keep(database, args.keep, manifest)
            seeded = time.perf_counter() - started
            # What the seed left in this process is not a server's: out of the collector's way.
            gc.collect()
            gc.freeze()
            points = db.session.scalar(select(func.count()).select_from(Point))
            changed = db.session.scalar(
                select(func.count())
                .select_from(TextChange)
                .where(
                    TextChange.version_id == db.session.scalar(
                        select(TextChange.version_id).limit(1)
                    ),
                    TextChange.ended_at.is_(None),
                    TextChange.scope == ChangeScope.PARAGRAPH,
                )
            )  # fmt: skip
            links = db.session.scalar(
                select(func.count())
                .select_from(DecisionLink)
                .where(DecisionLink.change_id.is_not(None))
            )
            db.session.remove()
            engine = db.engine
        print(
            f"decisions and traceability: db={args.db} scale={args.scale} "
            f"observations={manifest['observations']} points={points} "
            f"decisions={manifest['decisions']} ({manifest['decisions_published']} published) "
            f"changed paragraphs={changed} ({manifest['changes_linked']} linked by "
            f"{links} links, {manifest['changes_editorial']} editorial; "
            f"{manifest['response_section_changes']} on the section page) "
            f"(seeded in {seeded:.0f} s)"
        )
        for step in manifest["timings"]:
            print(f"  seed step {step['step']}: {step['seconds']} s — {step['made']}")
        clients = {}
        for label, user, method, path, form in pages(manifest):
            client = clients.get(user)
            if client is None:
                client = clients[user] = app.test_client()
                if user:
                    assert login(client, manifest[user], PASSWORD).status_code == 302
                    client.get("/")  # the first page after login also writes
            median, p95, cpu, statements, size = measure(
                app, engine, client, method, path, form, args.repeat
            )
            counted = "/".join(str(n) for n in sorted(statements))
            print(
                f"  {label}: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
                f"(CPU of this process: median {cpu * 1000:.0f} ms), {counted} SQL statements, "
                f"{size // 1024} KiB",
                flush=True,
            )
            if args.profile:
                profile(client, method, path, form)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop()


if __name__ == "__main__":
    main()
