"""``make bench``: Traccia's key pages under gunicorn, against the framework's own ceiling.

    .venv/bin/python bench/run.py [--scale small|large] [--db postgresql --db sqlite]
                                  [--seconds 5] [--connections 8] [--rush-seconds 60]

For each database it creates a fresh one (a temporary SQLite file; a new PostgreSQL database on
TEST_DATABASE_URL's server, dropped afterwards), migrates it, seeds it (``flask bench seed``,
timed), and starts two servers with the same settings (production configuration, gunicorn
with 2 sync workers, on loopback): Traccia, with the SQL statement count switched on, and the
ceiling (``bench/ceiling.py``: one row read, one small template). Then, for each page of
``bench/pages.py``: a few requests from Python check the answer and read the SQL statement
count; wrk loads the ceiling, then the page, for the same time at the same concurrency, so each
page's throughput is a share of a ceiling measured seconds before it. Last, the deadline rush
(``bench/deadline_rush.py``): an open-loop arrival schedule, then the all-at-once burst, and
the check that no submission was lost or duplicated and protocol numbers are gap-free.

It prints one table and writes it, with the machine and the date, to bench/results/.
Nothing here is a test: it prints numbers. Why wrk: it is C and event-driven, so on two shared
cores it takes far less CPU from the servers under test than a Python client would, and it is
what the issue's first figures were taken with.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import deadline_rush  # noqa: E402
from bench.deadline_rush import Database, free_port  # noqa: E402
from bench.pages import PAGES, Page, api_body, form_fields  # noqa: E402

BIN = ROOT / ".venv" / "bin"
WRK_SCRIPT = ROOT / "bench" / "wrk.lua"
RESULTS = ROOT / "bench" / "results"


# Servers -----------------------------------------------------------------------------------


def server_env(url: str, secret_key: str, instance: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secret_key,
        "TRACCIA_INSTANCE_DIR": instance,
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
        "API_RATE_LIMIT_PER_MINUTE": "10000000",
        "LOG_LEVEL": "WARNING",
    }


def start_gunicorn(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    return deadline_rush.gunicorn(
        app,
        port,
        env,
        ["--workers", str(workers), "--worker-class", "sync", "--timeout", "120"],
        ready="/healthz" if app == "wsgi:app" else "/",
    )


def stop(server: subprocess.Popen | None) -> None:
    if server is not None and server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


# One request from Python (checks, SQL counts, logging in) ----------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


class Session:
    """One logged-in user's cookies, as a Cookie header wrk can send."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def headers(self, extra=None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def send(self, method: str, path: str, body: bytes | None = None, headers=None):
        status, answer, page = request(self.port, method, path, body, self.headers(headers))
        for header in answer.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return status, answer, page

    def csrf(self, path: str) -> str:
        status, _, page = self.send("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def login(self, email: str, password: str) -> Session:
        token = self.csrf("/login")
        body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token})
        status, _, _ = self.send(
            "POST", "/login", body.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise RuntimeError(f"login {email}: {status}")
        return self


def one_request(page: Page, session: Session, manifest: dict, unique: str):
    """The page once from Python: its status and SQL statement count."""
    path = page.path(manifest)
    if page.kind == "get":
        status, headers, _ = session.send("GET", path)
    elif page.kind == "form":
        fields = form_fields(session.csrf(path), unique)
        status, headers, _ = session.send(
            "POST",
            path,
            urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        status, headers, _ = session.send(
            "POST",
            path,
            json.dumps(api_body(unique)).encode(),
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {manifest['api_token']}",
                "Idempotency-Key": unique,
            },
        )
    if status != page.expect:
        raise RuntimeError(f"{page.name}: {path} answered {status}, not {page.expect}")
    return int(headers.get("X-SQL-Statements", -1))


# wrk -----------------------------------------------------------------------------------------


def drain(port: int, path: str) -> None:
    """Wait until the server has worked off what wrk left queued when it stopped (the sync
    workers still answer the requests of connections wrk has closed): one request through the
    same queue, then a short pause, so that no measurement pays for the previous one."""
    request(port, "GET", path)
    time.sleep(0.3)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk).")
    return found


def wrk(url: str, *, seconds: float, connections: int, headers=None, env=None) -> dict:
    command = [
        ensure_wrk(),
        "--threads",
        "2",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "--script",
        str(WRK_SCRIPT),
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)
    done = subprocess.run(  # noqa: S603 - wrk, fixed arguments, loopback URL
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout} {done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT "))
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[k]
        for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return result


# The run -------------------------------------------------------------------------------------


def seed(url: str, env: dict, scale: str, seed_value: int, manifest: Path) -> float:
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    seed_env = {**env, "TRACCIA_CONFIG": "development"}
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=seed_env, check=True,  # noqa: S603
                   capture_output=True)  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own command
        [*flask, "bench", "seed", "--scale", scale, "--seed", str(seed_value),
         "--manifest", str(manifest)],
        cwd=ROOT, env=seed_env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    print(done.stdout.rstrip(), flush=True)
    return elapsed


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run_database(kind: str, args) -> dict:
    database = Database(kind)
    tmp = tempfile.mkdtemp(prefix="traccia-bench-run-")
    servers: list[subprocess.Popen] = []
    rows = []
    try:
        env = server_env(database.url, secrets.token_urlsafe(48), tmp)
        manifest_path = Path(tmp) / "manifest.json"
        print(f"\n== {kind}: seeding ({args.scale}) ==", flush=True)
        seed_seconds = seed(database.url, env, args.scale, args.seed, manifest_path)
        manifest = json.loads(manifest_path.read_text())
        port, ceiling_port = free_port(), free_port()
        servers.append(
            start_gunicorn(
                "wsgi:app",
                port,
                {**env, "TRACCIA_CONFIG": "production", "TRACCIA_BENCH_SQL_COUNT": "1"},
                args.workers,
            )
        )
        servers.append(start_gunicorn("bench.ceiling:app", ceiling_port, env, args.workers))
        sessions: dict[str | None, Session] = {None: Session(port)}
        run_id = secrets.token_hex(4)
        ceilings: list[dict] = []
        for _ in range(2 * args.workers):  # both workers of both servers warmed up
            request(ceiling_port, "GET", "/")
        for index, page in enumerate(PAGES):
            if page.user not in sessions:
                sessions[page.user] = Session(port).login(manifest[page.user], manifest["password"])
            session = sessions[page.user]
            sql = [
                one_request(page, session, manifest, f"{run_id}-check-{index}-{n}")
                for n in range(args.checks)
            ]
            headers = session.headers()
            wrk_env = {"BENCH_KIND": page.kind, "BENCH_RUN": f"{run_id}-{index}"}
            if page.kind == "form":
                wrk_env["BENCH_CSRF"] = session.csrf(page.path(manifest))
                headers = session.headers()
            if page.kind == "api":
                headers["Authorization"] = f"Bearer {manifest['api_token']}"
            pairs = []
            for _ in range(args.repeats):
                drain(port, "/healthz")
                ceiling = wrk(
                    f"http://127.0.0.1:{ceiling_port}/",
                    seconds=args.seconds,
                    connections=args.connections,
                )
                drain(ceiling_port, "/")
                result = wrk(
                    f"http://127.0.0.1:{port}{page.path(manifest)}",
                    seconds=args.seconds,
                    connections=args.connections,
                    headers=headers,
                    env=wrk_env,
                )
                pairs.append((ceiling, result))
                ceilings.append(ceiling)
            row = {
                "db": kind,
                "page": page.name,
                "rps": statistics.median(r["rps"] for _, r in pairs),
                "p50_ms": statistics.median(r["p50_us"] for _, r in pairs) / 1000,
                "p95_ms": statistics.median(r["p95_us"] for _, r in pairs) / 1000,
                "sql": max(sql),
                "ceiling_rps": statistics.median(c["rps"] for c, _ in pairs),
                # Each page run against the ceiling run just before it, then the median.
                "ratio": statistics.median(r["rps"] / c["rps"] for c, r in pairs),
                "errors": sum(r["errors"] for _, r in pairs),
                "requests": sum(r["requests"] for _, r in pairs),
                "load": load_average(),
                "runs": [
                    {"ceiling_rps": c["rps"], "rps": r["rps"], "p50_us": r["p50_us"],
                     "p95_us": r["p95_us"]}
                    for c, r in pairs
                ],
            }  # fmt: skip
            rows.append(row)
            print(format_row(row), flush=True)
        drain(port, "/healthz")
        rows.append(
            {
                "db": kind,
                "page": "ceiling: bare Flask + SQLAlchemy, one row, one template (median run)",
                "rps": statistics.median(c["rps"] for c in ceilings),
                "p50_ms": statistics.median(c["p50_us"] for c in ceilings) / 1000,
                "p95_ms": statistics.median(c["p95_us"] for c in ceilings) / 1000,
                "sql": 1,
                "ceiling_rps": None,
                "ratio": 1.0,
                "errors": sum(c["errors"] for c in ceilings),
                "requests": sum(c["requests"] for c in ceilings),
                "load": load_average(),
            }
        )
        print(format_row(rows[-1]), flush=True)
        rush = run_rush(port, database.url, manifest, args)
        for row in rush:
            row["db"] = kind
            print(format_row(row), flush=True)
        rows += rush
        return {
            "db": kind,
            "seed_seconds": seed_seconds,
            "manifest": {k: v for k, v in manifest.items() if k != "api_token"},
            "rows": rows,
            "server": server_version(database.url),
        }
    finally:
        for server in servers:
            stop(server)
        database.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def run_rush(port: int, url: str, manifest: dict, args) -> list[dict]:
    """The deadline rush on the seeded round: open loop, then all at once."""
    users = min(args.rush_users, len(manifest["referent_emails"]) - 2)
    # Referents of organisations other than those the pages use, logged in first.
    emails = manifest["referent_emails"][3 : 3 + users]
    base = f"http://127.0.0.1:{port}"
    browsers = deadline_rush.log_in(base, emails, manifest["password"])
    rows = []
    for schedule in ("open", "burst"):
        result = deadline_rush.run(
            base,
            manifest["round_id"],
            browsers,
            schedule=schedule,
            seconds=args.rush_seconds,
            seed=args.seed,
        )
        check = deadline_rush.check(url, manifest["round_id"], result["acknowledged"])
        posts = sorted(result["post_latencies"])
        label = (
            f"deadline rush, open loop: {len(emails)} referents x {deadline_rush.PER_USER} "
            f"in {args.rush_seconds:.0f} s"
            if schedule == "open"
            else f"deadline rush, all at once: {len(emails)} referents x {deadline_rush.PER_USER}"
        )
        rows.append(
            {
                "page": label,
                "rps": len(posts) / result["wall"] if result["wall"] else 0,
                "p50_ms": statistics.median(posts) * 1000 if posts else float("nan"),
                "p95_ms": deadline_rush.percentile(posts, 95) * 1000 if posts else float("nan"),
                "sql": None,
                "ceiling_rps": None,
                "ratio": None,
                "errors": len(result["failures"]),
                "requests": len(posts),
                "load": load_average(),
                "check": check,
            }
        )
    return rows


def server_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            version = "SQLite " + connection.execute(text("select sqlite_version()")).scalar()
        else:
            version = connection.execute(text("show server_version")).scalar()
            version = "PostgreSQL " + version.split()[0]
    engine.dispose()
    return version


# Output --------------------------------------------------------------------------------------

COLUMNS = (
    "| page | database | req/s | median | p95 | SQL/req | ceiling req/s | share of ceiling | load |"
)


def format_row(row: dict) -> str:
    def number(value, fmt):
        return "—" if value is None else format(value, fmt)

    note = ""
    if row.get("errors"):
        note = f" ({row['errors']} errors)"
    if row.get("check"):
        note += " — check OK" if row["check"].startswith("OK") else " — check FAILED"
    share = "—" if row["ratio"] is None else f"{row['ratio'] * 100:.1f} %"
    return (
        f"| {row['page']}{note} | {row['db']} | {row['rps']:.1f} | {row['p50_ms']:.0f} ms "
        f"| {row['p95_ms']:.0f} ms | {number(row['sql'], 'd')} "
        f"| {number(row['ceiling_rps'], '.0f')} | {share} | {row['load'].split('/')[0]} |"
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except OSError:
        memory = 0
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.platform()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--db", action="append", choices=("postgresql", "sqlite"))
    parser.add_argument("--seconds", type=float, default=None, help="wrk time per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=None, help="ceiling/page pairs per page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--checks", type=int, default=4, help="requests from Python per page (warm-up, SQL)"
    )
    parser.add_argument("--rush-users", type=int, default=None)
    parser.add_argument("--rush-seconds", type=float, default=None)
    args = parser.parse_args()
    large = args.scale == "large"
    # The rush keeps the target's arrival rate (200 referents x 5 in 10 minutes, 1.67/s) and
    # scales its length: small runs 10 referents in 30 seconds.
    args.seconds = args.seconds or (4 if large else 2)
    args.repeats = args.repeats or (5 if large else 2)
    args.rush_users = args.rush_users or (200 if large else 10)
    args.rush_seconds = args.rush_seconds or args.rush_users * 3.0
    databases = args.db or ["postgresql", "sqlite"]
    ensure_wrk()
    started = datetime.now(UTC)
    header = [
        f"make bench — {started:%Y-%m-%d %H:%M} UTC, scale {args.scale} (seed {args.seed})",
        f"machine: {machine()}; load average at start {load_average()}",
        f"gunicorn {args.workers} sync workers per server; wrk 2 threads, "
        f"{args.connections} connections; each page {args.repeats} times {args.seconds:g} s, "
        "each time right after the ceiling for as long (share: the median of the page/ceiling "
        "ratios; req/s, median and p95: the medians of the runs)",
    ]
    print("\n".join(header), flush=True)
    results = [run_database(kind, args) for kind in databases]
    lines = [*header, ""]
    for result in results:
        lines.append(
            f"{result['db']}: {result['server']}; seeding took {result['seed_seconds']:.1f} s "
            f"({result['manifest']['observations']} observations; my observations lists "
            f"{result['manifest']['mine_count']})"
        )
    lines += [
        f"load average at end {load_average()}",
        "",
        COLUMNS,
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        lines += [format_row(row) for row in result["rows"]]
    for result in results:
        lines += [
            f"{result['db']}, {row['page']}: {row['check']}"
            for row in result["rows"]
            if row.get("check")
        ]
    print("\n" + "\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    stamp = f"{started:%Y%m%d-%H%M}-{args.scale}"
    (RESULTS / f"{stamp}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\n(written to bench/results/{stamp}.md and .json)")


if __name__ == "__main__":
    main()
