"""Deadline rush: N stakeholders submit 5 observations each through gunicorn, all at once or on
an open-loop arrival schedule.

    .venv/bin/python bench/deadline_rush.py --db sqlite --users 50
    .venv/bin/python bench/deadline_rush.py --db postgresql --users 200 --path api
    .venv/bin/python bench/deadline_rush.py --db postgresql --users 200 --schedule open

``make bench`` (bench/run.py) runs the same rush (``log_in``, ``run``, ``check``) on its seeded
round, against its own server: the open loop, then the burst. Standalone, as below:

For each run it builds a fresh database (a temporary SQLite file, or a new PostgreSQL database
on TEST_DATABASE_URL's server, dropped afterwards), an open round and N comuni each with a
referent, starts gunicorn on a free local port, logs every referent in, then releases them all
at once (``--schedule burst``) or lets each submission start at its own random moment of a
window (``--schedule open``: arrivals do not wait for earlier answers, as on a real last
day): through the HTML form path (GET the form for its CSRF and one-time token, POST it) or
the API path (POST JSON with an Idempotency-Key). It prints throughput, median and 95th-
percentile latency of the submissions, and checks that every acknowledged submission exists
exactly once with a unique, gap-free protocol number. Nothing here is a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
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
    return gunicorn("wsgi:app", port, env, ["--workers", str(workers), "--threads", str(threads)])


def gunicorn(
    app: str, port: int, env: dict, options: list[str], ready: str = "/healthz"
) -> subprocess.Popen:
    """Our gunicorn on loopback, once ``ready`` answers."""
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(ROOT / ".venv/bin/gunicorn"),
            *options,
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=5)
            return server
        except OSError:  # refused, reset, or timed out while the workers boot
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError(f"gunicorn {app} did not start")


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

    def login(self, email: str, password: str = PASSWORD) -> None:
        fields = self.form("/login")
        status, _, _ = self.request("/login", {**fields, "email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login {email}: {status}")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of sorted ``values`` (nearest rank)."""
    return values[max(0, min(len(values) - 1, round(len(values) * p / 100 + 0.5) - 1))]


def log_in(base: str, emails: list[str], password: str = PASSWORD) -> list[Browser]:
    """A logged-in browser per e-mail (four logins at a time: each costs an Argon2 check)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(email: str) -> Browser:
        browser = Browser(base)
        browser.login(email, password)
        return browser

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, emails))


def arrivals(users: int, seconds: float, seed: int) -> list[list[float]]:
    """Open loop: each user's PER_USER submissions at random moments of the window (uniform),
    in order; a submission starts at its moment whether or not others are still waiting."""
    rng = random.Random(seed)
    return [sorted(rng.uniform(0, seconds) for _ in range(PER_USER)) for _ in range(users)]


def run(
    base: str,
    round_id: int,
    browsers=None,
    *,
    credentials=None,
    path: str = "form",
    schedule: str = "burst",
    seconds: float = 0,
    seed: int = 0,
) -> dict:
    """Submit PER_USER observations per user, all at once (``burst``) or on an open-loop
    schedule over ``seconds`` (``open``). Latencies: the POST alone, and (form path) the form's
    GET and POST from the moment the submission was due."""
    users = len(browsers) if browsers is not None else len(credentials)
    plan = arrivals(users, seconds, seed) if schedule == "open" else [[0.0] * PER_USER] * users
    barrier = threading.Barrier(users)
    post_latencies: list[float] = []
    latencies: list[float] = []
    acknowledged: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    started = 0.0

    def wait_until(offset: float) -> float:
        due = started + offset
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        return due if schedule == "open" else time.perf_counter()

    def user_form(browser: Browser, number: int) -> None:
        barrier.wait()
        for index, offset in enumerate(plan[number]):
            due = wait_until(offset)
            fields = browser.form(f"/rounds/{round_id}/observations/new")
            sent = time.perf_counter()
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
            done = time.perf_counter()
            with lock:
                if status == 302 and "/observations/" in headers["Location"]:
                    post_latencies.append(done - sent)
                    latencies.append(done - due)
                    acknowledged.append(headers["Location"].rstrip("/").rsplit("/", 1)[1])
                else:
                    failures.append(f"form {status}")

    def user_api(token: str, number: int) -> None:
        browser = Browser(base)
        barrier.wait()
        for index, offset in enumerate(plan[number]):
            due = wait_until(offset)
            body = json.dumps(
                {
                    "title": f"Osservazione {number}.{index}",
                    "text": "<p>Testo inviato dal protocollo.</p>",
                }
            ).encode()
            sent = time.perf_counter()
            status, _, answer = browser.request(
                f"/api/v1/rounds/{round_id}/observations",
                body=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"{number}-{index}",
                },
            )
            done = time.perf_counter()
            with lock:
                if status == 201:
                    post_latencies.append(done - sent)
                    latencies.append(done - due)
                    acknowledged.append(str(json.loads(answer)["id"]))
                else:
                    failures.append(f"api {status}")

    threads = []
    for number in range(users):
        if path == "form":
            threads.append(threading.Thread(target=user_form, args=(browsers[number], number)))
        else:
            token = credentials[number][1]
            threads.append(threading.Thread(target=user_api, args=(token, number)))
    started = time.perf_counter() + 0.5  # every thread is waiting at the barrier by then
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "latencies": latencies,
        "post_latencies": post_latencies,
        "acknowledged": acknowledged,
        "failures": failures,
        "wall": wall,
    }


def check(url: str, round_id: int, acknowledged: list[str]) -> str:
    """Every acknowledged submission stored once, and the round's protocol numbers 1…n."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, protocol_number FROM observations"
                " WHERE round_id = :round AND state <> 'draft'"
            ),
            {"round": round_id},
        ).all()
        last = connection.execute(
            text("SELECT last_number FROM protocol_counters WHERE round_id = :round"),
            {"round": round_id},
        ).scalar()
    engine.dispose()
    ids = {str(row.id) for row in rows}
    numbers = sorted(row.protocol_number for row in rows)
    problems = []
    if len(acknowledged) != len(set(acknowledged)):
        problems.append("an acknowledgement was given twice")
    if not set(acknowledged) <= ids:
        problems.append(f"{len(set(acknowledged) - ids)} acknowledged but not stored")
    if numbers != list(range(1, len(numbers) + 1)) or last != len(numbers):
        problems.append("protocol numbers are not unique and gap-free")
    return (
        f"OK: {len(acknowledged)} acknowledged, each stored once; numbers 1..{len(numbers)}"
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
    parser.add_argument("--schedule", choices=("burst", "open"), default="burst")
    parser.add_argument("--seconds", type=float, default=600, help="open loop: the window")
    args = parser.parse_args()

    database = Database(args.db)
    server = None
    try:
        round_id, credentials = prepare(database.url, args.users)
        port = free_port()
        server = start_server(database.url, port, args.workers, args.threads)
        base = f"http://127.0.0.1:{port}"
        browsers = log_in(base, [e for e, _ in credentials]) if args.path == "form" else None
        result = run(
            base,
            round_id,
            browsers,
            credentials=credentials,
            path=args.path,
            schedule=args.schedule,
            seconds=args.seconds,
        )
        latencies = sorted(result["latencies"])
        posts = sorted(result["post_latencies"])
        count = len(latencies)
        p95 = percentile(latencies, 95) if count else float("nan")
        print(
            f"deadline rush: db={args.db} path={args.path} users={args.users} "
            f"submissions={args.users * PER_USER} gunicorn={args.workers}x{args.threads} "
            f"schedule={args.schedule}"
        )
        print(
            f"  acknowledged {count}, failed {len(result['failures'])} "
            f"{sorted(set(result['failures']))[:5]}"
        )
        print(f"  throughput {count / result['wall']:.1f}/s over {result['wall']:.1f} s")
        if count:
            print(
                f"  latency median {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
                f"(the POST alone: median {statistics.median(posts) * 1000:.0f} ms, "
                f"p95 {percentile(posts, 95) * 1000:.0f} ms)"
            )
        print("  " + check(database.url, round_id, result["acknowledged"]))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        database.drop()


if __name__ == "__main__":
    main()
