"""Grouping a whole round into campaigns and near-duplicates, and the suggestion pass over its
points, on the benchmark data set (bench/dataset: campaigns of the same or nearly the same
letter, about two points per observation).

    .venv/bin/python bench/grouping.py [--scale small|large] [--db sqlite|postgresql]

Seeds a fresh database with ``bench.dataset.build`` (as ``flask bench seed`` does), then times
``grouping.detect`` (reading the round, comparing every text, storing the proposed groups; then
how many of the data set's campaigns came back whole) and
``suggestions.suggest_round`` (fitting the TF-IDF model on the consulted version, scoring and
storing three suggestions of each kind per point), each committed, and prints the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

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
    args = parser.parse_args()
    database = Database(args.db)
    try:
        import flask_migrate
        from sqlalchemy import func, select

        from app import create_app
        from app.extensions import db
        from app.moderation import grouping, suggestions
        from app.moderation.models import GroupMember, SimilarityGroup
        from app.rounds.models import Round
        from bench.dataset import build
        from config import TestConfig

        started = time.perf_counter()
        import sklearn.feature_extraction.text  # noqa: F401  (loaded once per process)

        imported = time.perf_counter() - started
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database.url)
        with app.app_context():
            flask_migrate.upgrade()
            started = time.perf_counter()
            manifest = build(db.session, scale=args.scale)
            db.session.commit()
            seeded = time.perf_counter() - started
            round_ = db.session.get(Round, manifest["round_id"])
            print(
                f"grouping and suggestions: db={args.db} scale={args.scale} "
                f"observations={manifest['observations']} points={manifest['points']} "
                f"(seeded in {seeded:.0f} s; scikit-learn imported in {imported:.1f} s)"
            )
            started = time.perf_counter()
            result = grouping.detect(db.session, round_, actor=None)
            db.session.commit()
            detect = time.perf_counter() - started
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
                f"  grouping the round: {detect:.1f} s — {groups} groups, {result.members} "
                f"observations in them (largest {largest}), {adds} adding something"
            )
            print(f"  campaigns: {campaign_recall(db.session, round_.id)}")
            started = time.perf_counter()
            stored = suggestions.suggest_round(db.session, round_, actor=None)
            db.session.commit()
            suggest = time.perf_counter() - started
            print(
                f"  suggestion pass: {suggest:.1f} s — {stored} suggestions for "
                f"{manifest['points']} points"
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop()


if __name__ == "__main__":
    main()
