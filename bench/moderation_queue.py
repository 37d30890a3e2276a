"""The moderation queue of a round with 10,000 observations (server time and SQL statements,
unfiltered, filtered and searched), a bulk tag of 1,000 observations, and a bulk tag of every
point of the observations a search finds (1,000 points).

    .venv/bin/python bench/moderation_queue.py [--observations 10000] [--db sqlite|postgresql]
    .venv/bin/python bench/moderation_queue.py --dataset large [--db sqlite|postgresql]

Builds the round as bench/round_page.py does (observations bulk-inserted), gives every
observation its triage row and search document as registration would (one INSERT … SELECT
each; a tenth of them mention "mobilità"), then requests the queue pages through the WSGI test
client and times ``bulk.plan_bulk`` (preview, then apply) on 1,000 ticked observations.

With ``--dataset small|large`` the round is the benchmark data set's instead (``bench.dataset``
as ``flask bench seed`` makes it; large: 10,000 observations, about 20,000 points, 600
organisations, campaigns): its search documents are written from each observation's title and
body (folded as ``search.index_observation`` folds them; attachments are not read), its groups
proposed by ``grouping.detect``, PostgreSQL's statistics gathered (``ANALYZE``, as autovacuum
would), and the queue is also asked for a section (with its subsections), for the observations
in a group, and for the comuni's that mention "ciclabili".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.deadline_rush import PASSWORD, Database  # noqa: E402
from bench.round_page import build  # noqa: E402


def prepare(app, round_id: int) -> None:
    from sqlalchemy import text

    from app.accounts.models import Role
    from app.accounts.operations import create_user
    from app.extensions import db

    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO triage (observation_id, state, changed_at, lock_version)"
                " SELECT id, 'received', submitted_at, 1 FROM observations WHERE round_id = :r"
            ),
            {"r": round_id},
        )
        db.session.execute(
            text(
                "INSERT INTO search_documents (observation_id, round_id, document, updated_at)"
                " SELECT id, round_id, CASE WHEN id % 10 = 0"
                " THEN 'mobilita sostenibile e piste ciclabili' ELSE 'verde urbano e scuole' END,"
                " submitted_at FROM observations WHERE round_id = :r"
            ),
            {"r": round_id},
        )
        db.session.execute(
            text(
                "INSERT INTO points (observation_id, number, target, excerpt_start, excerpt_end,"
                " state, created_at, updated_at, lock_version)"
                " SELECT id, 1, 'plan', 0, length(body_text), 'active', submitted_at,"
                " submitted_at, 1 FROM observations WHERE round_id = :r AND NOT EXISTS"
                " (SELECT 1 FROM points WHERE points.observation_id = observations.id)"
            ),
            {"r": round_id},
        )
        create_user(
            db.session,
            email="mod@bench.example",
            display_name="Mod",
            roles={Role.MODERATOR},
            organisation=None,
            password=PASSWORD,
            send_welcome=False,
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # statistics, as autovacuum would gather
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def build_dataset(url: str, scale: str, *, seeded: bool = False):
    """The bench data set in a fresh database (or one seeded earlier), with search documents
    and proposed groups: (app, round id, the moderator's e-mail and password, the most
    anchored section's id)."""
    import flask_migrate
    from sqlalchemy import insert, select, text

    from app import create_app
    from app.core.db import utcnow
    from app.extensions import db
    from app.moderation import grouping, search
    from app.moderation.models import SearchDocument
    from app.observations.models import Observation
    from app.plans.models import Section
    from app.rounds.models import Round
    from bench.dataset import PASSWORD as DATASET_PASSWORD
    from bench.dataset import build as build_set
    from bench.dataset import seeded as seeded_set
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        started = time.perf_counter()
        if seeded:
            manifest = seeded_set(db.session)
        else:
            flask_migrate.upgrade()
            manifest = build_set(db.session, scale=scale)
            db.session.commit()
        round_ = db.session.get(Round, manifest["round_id"])
        rows = db.session.execute(
            select(Observation.id, Observation.title, Observation.body_text).where(
                Observation.round_id == round_.id, Observation.protocol_number.is_not(None)
            )
        ).all()
        now = utcnow()
        documents = [
            {
                "observation_id": id_,
                "round_id": round_.id,
                "document": search.fold(f"{title}\n{body or ''}"),
                "updated_at": now,
            }
            for id_, title, body in rows
        ]
        for first in range(0, len(documents), 2_000):
            db.session.execute(insert(SearchDocument), documents[first : first + 2_000])
        grouping.detect(db.session, round_, actor=None)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # the statistics autovacuum would gather
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        section_id = db.session.scalar(
            select(Section.id).where(
                Section.version_id == round_.plan_version_id,
                Section.key == manifest["round_section_key"],
            )
        )
        print(
            f"data set {scale}: {manifest['observations']} observations, "
            f"{manifest['points']} points (seeded, indexed and grouped in "
            f"{time.perf_counter() - started:.0f} s)"
        )
        return app, round_.id, "moderator@bench.example", DATASET_PASSWORD, section_id


def measure(app, path: str, repeat: int, email: str, password: str) -> tuple[float, float, int]:
    from sqlalchemy import event

    from app.extensions import db
    from tests.fixtures.factories import login

    client = app.test_client()
    login(client, email, password=password)
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    times, cpu, statements = [], [], []
    try:
        for _ in range(repeat):
            counter["n"] = 0
            started, used = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
            statements.append(counter["n"])
            assert response.status_code == 200, response.status_code
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times), statistics.median(cpu), max(statements)


def preview_then_apply(app, name: str, plan_call, email: str):
    """Time ``plan_call(session, actor, tag_id, apply, fingerprint)``: a preview, then the
    confirmation carrying the preview's fingerprint (committed each, as a request would)."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.extensions import db
    from app.moderation import tags

    with app.app_context():
        actor = db.session.scalar(select(User).where(User.email == email))
        theme = tags.create_theme(db.session, name=name, colour="blue", actor=actor)
        db.session.commit()
        fingerprint, times = None, []
        for apply in (False, True):
            started = time.perf_counter()
            plan = plan_call(db.session, actor, theme.id, apply, fingerprint)
            db.session.commit()
            times.append(time.perf_counter() - started)
            fingerprint = plan.fingerprint
        assert plan.applied or not plan.to_change, plan.stale or plan.blocked
        return times[0], times[1], len(plan.to_change)


def bulk_tag(app, round_id: int, count: int, email: str) -> tuple[float, float, int]:
    """Tag ``count`` ticked observations."""
    from sqlalchemy import select

    from app.extensions import db
    from app.moderation import bulk
    from app.moderation.models import Triage
    from app.observations.models import Observation
    from app.rounds.models import Round

    with app.app_context():
        selection = dict(
            db.session.execute(
                select(Triage.observation_id, Triage.lock_version)
                .join(Observation, Observation.id == Triage.observation_id)
                .where(Observation.round_id == round_id)
                .limit(count)
            ).all()
        )
    return preview_then_apply(
        app,
        "Mobilità",
        lambda session, actor, tag_id, apply, fingerprint: bulk.plan_bulk(
            session,
            session.get(Round, round_id),
            action="tag",
            actor=actor,
            selection=selection,
            tag_id=tag_id,
            fingerprint=fingerprint,
            apply=apply,
        ),
        email,
    )


def bulk_tag_points(app, round_id: int, email: str) -> tuple[float, float, int]:
    """Tag every point of the observations a search finds, as the queue's form for points
    does."""
    from werkzeug.datastructures import MultiDict

    from app.core.db import utcnow
    from app.moderation import point_bulk
    from app.moderation.queries import QueueFilter
    from app.rounds.models import Round

    chosen, _problems = QueueFilter.from_args(MultiDict({"q": "mobilità"}))
    shown_at = utcnow()
    return preview_then_apply(
        app,
        "Ciclabili",
        lambda session, actor, tag_id, apply, fingerprint: point_bulk.plan_point_bulk(
            session,
            session.get(Round, round_id),
            action="tag",
            actor=actor,
            chosen=chosen,
            shown_at=shown_at,
            fingerprint=fingerprint,
            tag_id=tag_id,
            apply=apply,
        ),
        email,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--dataset", choices=("small", "large"), default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--seeded",
        metavar="URL",
        help="with --dataset: a database the data set was seeded into earlier, used as it is "
        "and not dropped (search documents and groups are written into it: give a copy)",
    )
    args = parser.parse_args()
    database = SimpleNamespace(url=args.seeded, drop=lambda: None) if args.seeded else None
    database = database or Database(args.db)
    try:
        views = [
            ("unfiltered", ""),
            (
                "filtered (state, kind, late, attachments)",
                "?state=received&kind=observation&late=no&has_attachments=no",
            ),
            ("searched ('mobilità')", "?q=mobilit%C3%A0"),
            ("last page, sorted by organisation", "?sort=organisation&page=200"),
        ]
        if args.dataset:
            app, round_id, email, password, section_id = build_dataset(
                database.url, args.dataset, seeded=bool(args.seeded)
            )
            views += [
                ("one section and its subsections", f"?section={section_id}"),
                ("in a group", "?in_group=yes"),
                ("comuni, searched ('ciclabili')", "?organisation_kind=comune&q=ciclabili"),
            ]
            label = f"data set {args.dataset}"
        else:
            app, round_id, _section = build(database.url, 30, args.observations)
            prepare(app, round_id)
            email, password = "mod@bench.example", PASSWORD
            label = f"observations={args.observations}"
        base = f"/moderation/rounds/{round_id}/queue"
        print(f"moderation queue: db={args.db} {label}")
        for name, query in views:
            seconds, cpu, statements = measure(app, base + query, args.repeat, email, password)
            print(
                f"  {name}: median {seconds * 1000:.0f} ms (this process's CPU "
                f"{cpu * 1000:.0f} ms), {statements} SQL statements"
            )
        preview, applied, _count = bulk_tag(app, round_id, 1_000, email)
        print(
            f"  bulk tag of 1,000: preview {preview * 1000:.0f} ms, apply {applied * 1000:.0f} ms"
        )
        preview, applied, points = bulk_tag_points(app, round_id, email)
        print(
            f"  bulk tag of every point of a search ({points:,} points): preview"
            f" {preview * 1000:.0f} ms, apply {applied * 1000:.0f} ms"
        )
    finally:
        database.drop()


if __name__ == "__main__":
    main()
