"""Plans benchmark: prints numbers, asserts nothing.

A plan of 300 sections and 3,000 paragraphs, imported from a DOCX; a successor changing 10% of
the paragraphs; then the server time and SQL queries of the reading, section and diff pages.

    .venv/bin/python bench/plans.py [--database-url sqlite:////tmp/bench.db]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECTIONS = 300
PARAGRAPHS_PER_SECTION = 10
CHANGED_SHARE = 0.10


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    for i in range(SECTIONS):
        level = 1 if i % 3 == 0 else 2
        number = f"{i // 3 + 1}" if level == 1 else f"{i // 3 + 1}.{i % 3}"
        document.add_heading(f"{number} Sezione {i}", level=level)
        for j in range(PARAGRAPHS_PER_SECTION):
            document.add_paragraph(
                f"Paragrafo {i}.{j}: la Città metropolitana promuove la cooperazione tra i comuni "
                f"della zona omogenea {i % 7} e sostiene il progetto {j} con risorse dedicate, "
                "attraverso accordi di programma e protocolli d'intesa con i soggetti del "
                "territorio."
            )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"

    import flask_migrate
    from sqlalchemy import event

    from app import create_app
    from app.accounts import operations as accounts
    from app.accounts.models import Role
    from app.extensions import db
    from app.plans import operations
    from app.plans.tree import load_tree
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        flask_migrate.upgrade()
        editor = accounts.create_user(
            db.session,
            email="bench@example.org",
            display_name="Bench",
            roles={Role.EDITOR},
            password="bench-password-123",  # noqa: S106 - a throw-away benchmark database
            send_welcome=False,
        )
        plan = operations.create_plan(db.session, title="Bench", slug="bench", owner="CM")
        db.session.commit()

        data = make_docx()
        with app.test_request_context():
            started = time.perf_counter()
            plan_import = operations.start_import(
                db.session,
                plan,
                data=data,
                filename="bench.docx",
                label="v1",
                predecessor=None,
                max_bytes=50 * 1024 * 1024,
                actor=editor,
            )
            parsed = time.perf_counter()
            first = operations.confirm_import(db.session, plan_import, actor=editor)
            db.session.commit()
            saved = time.perf_counter()
        print(
            f"DOCX: {len(data) / 1024:.0f} KiB, {SECTIONS} sections, "
            f"{SECTIONS * PARAGRAPHS_PER_SECTION} paragraphs"
        )
        print(
            f"import: parse {parsed - started:.2f} s, save {saved - parsed:.2f} s, "
            f"total {saved - started:.2f} s"
        )

        first.freeze()
        started = time.perf_counter()
        second = operations.create_successor(db.session, first, label="v2")
        db.session.commit()
        print(f"successor copy: {time.perf_counter() - started:.2f} s")
        paragraphs = [p for _n, p in load_tree(db.session, second).paragraphs()]
        step = int(1 / CHANGED_SHARE)
        started = time.perf_counter()
        for paragraph in paragraphs[::step]:
            operations.update_paragraph(
                db.session,
                paragraph,
                html=paragraph.text + " Testo modificato.",
                seen_lock=paragraph.lock_version,
            )
        db.session.commit()
        edits = len(paragraphs[::step])
        print(
            f"{edits} edits: {time.perf_counter() - started:.2f} s "
            f"({(time.perf_counter() - started) / edits * 1000:.1f} ms each)"
        )
        root = load_tree(db.session, second).roots[0].section.key

    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": "bench-password-123"})
    pages = {
        "reading (contents)": "/plans/bench/v2/",
        "reading (one section)": f"/plans/bench/v2/s/{root}",
        "diff v1 -> v2": "/plans/bench/diff?old=1&new=2",
        "editing outline": "/plans/bench/v2/edit",
    }
    with app.app_context():
        engine = db.engine
    for name, path in pages.items():
        times, queries = [], []
        for _ in range(args.repeat):
            counted = []

            def count(*_args, counted=counted):
                counted.append(1)

            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            event.remove(engine, "before_cursor_execute", count)
            queries.append(len(counted))
            assert response.status_code == 200, (path, response.status_code)
        print(
            f"{name:24} median {statistics.median(times) * 1000:7.0f} ms, "
            f"{queries[-1]} SQL queries, {len(response.data) / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
