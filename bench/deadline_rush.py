"""Deadline rush: N stakeholders submit 5 observations each, at once, through gunicorn.

    .venv/bin/python bench/deadline_rush.py --db sqlite --users 50
    .venv/bin/python bench/deadline_rush.py --db postgresql --users 200 --path api

For each run it builds a fresh database (a temporary SQLite file, or a new PostgreSQL database
on TEST_DATABASE_URL's server, dropped afterwards), an open round and N comuni each with a
referent, starts gunicorn on a free local port, logs every referent in, then releases them all
at once: through the HTML form path (GET the form for its CSRF and one-time token, POST it) or
the API path (POST JSON with an Idempotency-Key). It prints throughput, median and 95th-
percentile latency of the submissions, and checks that every acknowledged submission exists
exactly once with a unique, gap-free protocol number. Nothing here is a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password 2026"  # noqa: S105 - a throw-away benchmark database
PER_USER = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Database:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._tmp = None
        self._admin = None
        if kind == "sqlite":
            self._tmp = tempfile.mkdtemp(prefix="traccia-bench-")
            self.url = f"sqlite:///{self._tmp}/bench.db"
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            server = make_url(
                os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
            ).set(drivername="postgresql+psycopg")
            self.name = f"traccia_bench_{uuid.uuid4().hex[:10]}"
            self._admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = server.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        if self._admin is not None:
            from sqlalchemy import text

            with self._admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self._admin.dispose()


def open_round(session, *, sections: int, paragraphs: int, prefix: str, nested: bool = False):
    """A frozen plan of ``sections`` sections (every third top-level when ``nested``) with
    ``paragraphs`` paragraphs each, and an open round on it for the comuni."""
    from app.core.db import utcnow
    from app.plans import operations as plans
    from app.plans.text import text_to_html
    from app.rounds.operations import change_state, create_round
    from app.stakeholders.models import OrganisationKind

    plan = plans.create_plan(
        session, title="Piano di prova", slug="prova", owner="Città metropolitana di Milano"
    )
    specs = [
        plans.SectionSpec(
            1 if not nested or i % 3 == 0 else 2,
            str(i),
            f"Sezione {i}",
            paragraphs=[
                plans.ParagraphSpec(
                    text_to_html(f"Paragrafo {i}.{j} del piano."), f"Paragrafo {i}.{j} del piano."
                )
                for j in range(paragraphs)
            ],
        )
        for i in range(sections)
    ]
    version = plans.build_version(session, plan, label="Bozza", predecessor=None, specs=specs)
    version.freeze()
    now = utcnow()
    round_ = create_round(
        session,
        version=version,
        title="Consultazione di prova",
        instructions="",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=7),
        protocol_prefix=prefix,
        kinds=[OrganisationKind.COMUNE],
        actor=None,
    )
    change_state(session, round_, "schedule", actor=None)
    change_state(session, round_, "open", actor=None)
    return round_


def prepare(url: str, users: int) -> tuple[int, list[tuple[str, str]]]:
    """Schema, a frozen plan, an open round and the referents; return the round id and, per
    referent, (e-mail, API token)."""
    import flask_migrate

    from app import create_app
    from app.accounts.models import Role
    from app.accounts.operations import create_user
    from app.api.operations import create_token
    from app.extensions import db
    from app.stakeholders.models import Organisation, OrganisationKind
    from config import DevelopmentConfig

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        round_ = open_round(db.session, sections=5, paragraphs=3, prefix="RUSH")
        admin = create_user(
            db.session,
            email="admin@bench.example",
            display_name="Admin",
            roles={Role.ADMIN},
            password=PASSWORD,
            send_welcome=False,
        )
        credentials = []
        for number in range(users):
            comune = Organisation(
                name=f"Comune {number:04d}",
                kind=OrganisationKind.COMUNE,
                istat_code=f"9{number:05d}",
            )
            db.session.add(comune)
            user = create_user(
                db.session,
                email=f"ref{number}@bench.example",
                display_name=f"Referente {number}",
                roles={Role.STAKEHOLDER},
                organisation=comune,
                password=PASSWORD,
                send_welcome=False,
            )
            _, token = create_token(db.session, user=user, name="bench", actor=admin)
            credentials.append((user.email, token))
        db.session.commit()
        return round_.id, credentials


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TRACCIA_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SESSION_COOKIE_SECURE": "false",
        "API_RATE_LIMIT_PER_MINUTE": "100000",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return server
        except OSError:  # refused, reset, or timed out while the workers boot
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One stakeholder's session: cookies, CSRF tokens, no automatic redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, headers=None, body: bytes | None = None):
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        url = self.base + path  # always http://127.0.0.1:<port>
        req = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=120) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def form(self, path: str) -> dict:
        status, _, page = self.request(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        fields = dict(re.findall(r'name="(csrf_token|form_token)"[^>]*value="([^"]+)"', page))
        return fields

    def login(self, email: str) -> None:
        fields = self.form("/login")
        status, _, _ = self.request("/login", {**fields, "email": email, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"login {email}: {status}")


def run(base: str, round_id: int, credentials, path: str) -> dict:
    browsers = []
    if path == "form":
        for email, _ in credentials:
            browser = Browser(base)
            browser.login(email)
            browsers.append(browser)
    barrier = threading.Barrier(len(credentials))
    latencies: list[float] = []
    acknowledged: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def user_form(browser: Browser, number: int) -> None:
        barrier.wait()
        for index in range(PER_USER):
            started = time.perf_counter()
            fields = browser.form(f"/rounds/{round_id}/observations/new")
            status, headers, _ = browser.request(
                f"/rounds/{round_id}/observations/new",
                {
                    **fields,
                    "kind": "observation",
                    "title": f"Osservazione {number}.{index}",
                    "body": "Testo dell'osservazione inviata all'ultimo minuto.",
                    "action": "submit",
                },
            )
            elapsed = time.perf_counter() - started
            with lock:
                if status == 302 and "/observations/" in headers["Location"]:
                    latencies.append(elapsed)
                    acknowledged.append(headers["Location"].rstrip("/").rsplit("/", 1)[1])
                else:
                    failures.append(f"form {status}")

    def user_api(token: str, number: int) -> None:
        browser = Browser(base)
        barrier.wait()
        for index in range(PER_USER):
            body = json.dumps(
                {
                    "title": f"Osservazione {number}.{index}",
                    "text": "<p>Testo inviato dal protocollo.</p>",
                }
            ).encode()
            started = time.perf_counter()
            status, _, answer = browser.request(
                f"/api/v1/rounds/{round_id}/observations",
                body=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"{number}-{index}",
                },
            )
            elapsed = time.perf_counter() - started
            with lock:
                if status == 201:
                    latencies.append(elapsed)
                    acknowledged.append(str(json.loads(answer)["id"]))
                else:
                    failures.append(f"api {status}")

    threads = []
    for number, (_, token) in enumerate(credentials):
        target = (
            (user_form, (browsers[number], number))
            if path == "form"
            else (user_api, (token, number))
        )
        threads.append(threading.Thread(target=target[0], args=target[1]))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "latencies": latencies,
        "acknowledged": acknowledged,
        "failures": failures,
        "wall": wall,
    }


def check(url: str, acknowledged: list[str]) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, protocol_number FROM observations WHERE state = 'submitted'")
        ).all()
    engine.dispose()
    ids = {str(row.id) for row in rows}
    numbers = sorted(row.protocol_number for row in rows)
    problems = []
    if len(acknowledged) != len(set(acknowledged)):
        problems.append("an acknowledgement was given twice")
    if set(acknowledged) != ids:
        problems.append(f"{len(set(acknowledged) ^ ids)} acknowledged/stored mismatches")
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append("protocol numbers are not unique and gap-free")
    return (
        "OK: every acknowledged submission stored once, numbers 1.." + str(len(numbers))
        if not problems
        else "FAILED: " + "; ".join(problems)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--path", choices=("form", "api"), default="form")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    database = Database(args.db)
    server = None
    try:
        round_id, credentials = prepare(database.url, args.users)
        port = free_port()
        server = start_server(database.url, port, args.workers, args.threads)
        result = run(f"http://127.0.0.1:{port}", round_id, credentials, args.path)
        latencies = sorted(result["latencies"])
        count = len(latencies)
        p95 = latencies[max(0, int(count * 0.95) - 1)] if count else float("nan")
        print(
            f"deadline rush: db={args.db} path={args.path} users={args.users} "
            f"submissions={args.users * PER_USER} gunicorn={args.workers}x{args.threads}"
        )
        print(
            f"  acknowledged {count}, failed {len(result['failures'])} "
            f"{sorted(set(result['failures']))[:5]}"
        )
        print(f"  throughput {count / result['wall']:.1f}/s over {result['wall']:.1f} s")
        if count:
            print(
                f"  latency median {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
            )
        print("  " + check(database.url, result["acknowledged"]))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        database.drop()


if __name__ == "__main__":
    main()
