"""Grouping a whole round into campaigns and near-duplicates, and the suggestion pass over its
points, on the benchmark data set (bench/dataset: campaigns of the same or nearly the same
letter, about two points per observation).

    .venv/bin/python bench/grouping.py [--scale small|large] [--db sqlite|postgresql]

Seeds a fresh database with ``bench.dataset.build`` (as ``flask bench seed`` does), then times
``grouping.detect`` (reading the round, comparing every text, storing the proposed groups; then
how many of the data set's campaigns came back whole) and
``suggestions.suggest_round`` (fitting the TF-IDF model on the consulted version, scoring and
storing three suggestions of each kind per point), each committed, and prints the figures: the
time, and beside it this process's CPU time (what the machine's other work does not inflate;
PostgreSQL's own work is not in it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.deadline_rush import Database  # noqa: E402


def campaign_recall(session, round_id: int) -> str:
    """How many of the data set's campaigns (titled "Campagna N: …", bench/dataset) came back
    whole: each campaign's members in the proposed group that holds most of them."""
    from collections import Counter

    from sqlalchemy import select

    from app.moderation.models import GroupMember
    from app.observations.models import Observation

    rows = session.execute(
        select(Observation.title, GroupMember.group_id)
        .outerjoin(GroupMember, GroupMember.observation_id == Observation.id)
        .where(
            Observation.round_id == round_id,
            Observation.protocol_number.is_not(None),
            Observation.state == "submitted",
            Observation.title.startswith("Campagna "),
        )
    ).all()
    campaigns: dict[str, Counter] = {}
    for title, group_id in rows:
        campaigns.setdefault(title.split(":")[0], Counter())[group_id] += 1
    missing = []
    for counter in campaigns.values():
        main = max((g for g in counter if g is not None), key=counter.get, default=None)
        missing.append(sum(counter.values()) - (counter[main] if main is not None else 0))
    whole = sum(m == 0 for m in missing)
    left = ", ".join(str(m) for m in missing if m)
    return f"{whole} of {len(campaigns)} whole" + (f" (others missing {left})" if left else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument(
        "--seeded",
        metavar="URL",
        help="a database the data set was seeded into earlier, used as it is and not dropped "
        "(groups and suggestions are written into it: give a copy)",
    )
    args = parser.parse_args()
    database = SimpleNamespace(url=args.seeded, drop=lambda: None) if args.seeded else None
    database = database or Database(args.db)
    try:
        import flask_migrate
        from sqlalchemy import func, select

        from app import create_app
        from app.extensions import db
        from app.moderation import grouping, suggestions
        from app.moderation.models import GroupMember, SimilarityGroup
        from app.rounds.models import Round
        from bench.dataset import build, seeded
        from config import TestConfig

        started = time.perf_counter()
        import sklearn.feature_extraction.text  # noqa: F401  (loaded once per process)

        imported = time.perf_counter() - started
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database.url)
        with app.app_context():
            started = time.perf_counter()
            if args.seeded:
                manifest = seeded(db.session)
            else:
                flask_migrate.upgrade()
                manifest = build(db.session, scale=args.scale)
                db.session.commit()
            seconds = time.perf_counter() - started
            round_ = db.session.get(Round, manifest["round_id"])
            print(
                f"grouping and suggestions: db={args.db} scale={args.scale} "
                f"observations={manifest['observations']} points={manifest['points']} "
                f"({'read' if args.seeded else 'seeded'} in {seconds:.0f} s; "
                f"scikit-learn imported in {imported:.1f} s)"
            )
            started, cpu = time.perf_counter(), time.process_time()
            result = grouping.detect(db.session, round_, actor=None)
            db.session.commit()
            detect, detect_cpu = time.perf_counter() - started, time.process_time() - cpu
            adds = db.session.scalar(
                select(func.count()).select_from(GroupMember).where(GroupMember.adds_something)
            )
            largest = db.session.scalar(
                select(func.count())
                .select_from(GroupMember)
                .group_by(GroupMember.group_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            groups = db.session.scalar(select(func.count()).select_from(SimilarityGroup))
            print(
                f"  grouping the round: {detect:.1f} s (this process's CPU {detect_cpu:.1f} s) — "
                f"{groups} groups, {result.members} observations in them (largest {largest}), "
                f"{adds} adding something"
            )
            print(f"  campaigns: {campaign_recall(db.session, round_.id)}")
            started, cpu = time.perf_counter(), time.process_time()
            stored = suggestions.suggest_round(db.session, round_, actor=None)
            db.session.commit()
            suggest, suggest_cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"  suggestion pass: {suggest:.1f} s (CPU {suggest_cpu:.1f} s) — {stored} "
                f"suggestions for {manifest['points']} points"
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop()


if __name__ == "__main__":
    main()
