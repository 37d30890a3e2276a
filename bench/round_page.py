"""The page that lists a round's sections with comment counts, for a round with 10,000
observations: server time and SQL queries per request.

    .venv/bin/python bench/round_page.py [--observations 10000] [--sections 300] [--db sqlite]

Builds a fresh database with a plan of the given number of sections, an open round and the
observations (bulk-inserted, spread over sections and paragraphs), then requests the round page
and a section page through the WSGI test client, several times, printing the median server time
and the number of SQL statements each request ran.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.deadline_rush import PASSWORD, Database, open_round  # noqa: E402


def build(url: str, sections: int, observations: int):
    import flask_migrate
    from sqlalchemy import insert, select, update

    from app import create_app
    from app.accounts.models import Role
    from app.accounts.operations import create_user
    from app.core.db import utcnow
    from app.extensions import db
    from app.observations.models import Observation
    from app.plans.models import Paragraph
    from app.rounds.models import ProtocolCounter
    from app.stakeholders.models import Organisation, OrganisationKind
    from config import DevelopmentConfig

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        round_ = open_round(
            db.session, sections=sections, paragraphs=10, prefix="PAGE", nested=True
        )
        version = round_.version
        now = utcnow()
        comune = Organisation(
            name="Comune di Rho", kind=OrganisationKind.COMUNE, istat_code="015182"
        )
        db.session.add(comune)
        user = create_user(
            db.session,
            email="rho@bench.example",
            display_name="Rho",
            roles={Role.STAKEHOLDER},
            organisation=comune,
            password=PASSWORD,
            send_welcome=False,
        )
        db.session.flush()
        paragraphs = db.session.execute(
            select(Paragraph.id, Paragraph.section_id).where(Paragraph.version_id == version.id)
        ).all()
        rows = []
        for number in range(1, observations + 1):
            paragraph = paragraphs[number % len(paragraphs)]
            rows.append(
                {
                    "round_id": round_.id,
                    "organisation_id": comune.id,
                    "author_id": user.id,
                    "channel": "web",
                    "kind": "observation",
                    "target": "paragraph",
                    "section_id": paragraph.section_id,
                    "paragraph_id": paragraph.id,
                    "title": f"Osservazione {number}",
                    "body_html": "<p>Testo</p>",
                    "body_text": "Testo",
                    "consent_public_name": False,
                    "state": "submitted",
                    "protocol_number": number,
                    "protocol_code": f"PAGE-{number:05d}",
                    "submitted_at": now,
                    "received_at": now,
                    "late": False,
                    "digest": "0" * 64,
                    "created_at": now,
                    "updated_at": now,
                    "lock_version": 1,
                }
            )
        for start in range(0, len(rows), 2000):
            db.session.execute(insert(Observation), rows[start : start + 2000])
        db.session.execute(
            update(ProtocolCounter)
            .where(ProtocolCounter.round_id == round_.id)
            .values(last_number=observations)
        )
        db.session.commit()
        first_section = version_first_section(db.session, version.id)
        return app, round_.id, first_section


def version_first_section(session, version_id):
    from sqlalchemy import select

    from app.plans.models import Section

    return session.scalar(
        select(Section.key)
        .where(Section.version_id == version_id, Section.parent_id.is_(None))
        .order_by(Section.position)
        .limit(1)
    )


def measure(app, path: str, repeat: int) -> tuple[float, int]:
    from sqlalchemy import event

    from app.extensions import db
    from tests.fixtures.factories import login

    client = app.test_client()
    login(client, "rho@bench.example", password=PASSWORD)
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    times, queries = [], []
    try:
        for _ in range(repeat):
            counter["n"] = 0
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            queries.append(counter["n"])
            assert response.status_code == 200, response.status_code
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times), max(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--sections", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    database = Database(args.db)
    try:
        app, round_id, section = build(database.url, args.sections, args.observations)
        print(f"round page: db={args.db} sections={args.sections} observations={args.observations}")
        for label, path in [
            ("round page (sections with counts)", f"/rounds/{round_id}/"),
            ("section page (paragraphs with counts)", f"/rounds/{round_id}/s/{section}"),
        ]:
            seconds, queries = measure(app, path, args.repeat)
            print(f"  {label}: median {seconds * 1000:.0f} ms, {queries} SQL statements")
    finally:
        database.drop()


if __name__ == "__main__":
    main()
