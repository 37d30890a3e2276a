"""The administrators' audit page: filters, labels for every action, pages, CSV export."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from app.accounts.models import Role
from app.core.audit import AuditEntry, record
from app.core.audit_labels import AUDIT_LABELS
from app.core.db import utcnow
from app.core.timezones import utc_to_local
from app.extensions import db as _db
from app.moderation.bulk import ACTION_LABELS as BULK_ACTIONS
from app.moderation.models import TRANSITIONS as TRIAGE_TRANSITIONS
from app.moderation.point_bulk import POINT_ACTIONS
from app.rounds.models import TRANSITIONS

APP = Path(__file__).resolve().parents[2] / "app"
_DOMAINS = (
    "auth|user|plan|organisation|zone|group|invitation|registry|round|observation|outbox"
    "|api_token|point|audit|triage|tag|note|decision|report|redaction|publication|suggestion"
)
_ACTION = re.compile(rf"^({_DOMAINS})\.[a-z_]*[a-z]$")  # not an f-string's "triage.bulk_" piece


def _recorded_actions() -> set[str]:
    """Every action code written in app/ (a string that reads like one, wherever it is: passed
    to record() directly or through a variable), and the codes record() builds from parts."""
    found = set()
    for path in APP.rglob("*.py"):
        if path.name == "audit_labels.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _ACTION.match(node.value)
            ):
                found.add(node.value)
    found |= {f"round.{action}" for action in TRANSITIONS}  # record(f"round.{action}")
    # record(f"triage.{action}"), and "receive" when registration opens the triage
    found |= {f"triage.{action}" for action in [*TRIAGE_TRANSITIONS, "receive"]}
    found |= {f"triage.bulk_{action}" for action in BULK_ACTIONS}
    found |= {f"point.bulk_{action}" for action in POINT_ACTIONS}
    found |= {f"{kind}.{verb}" for kind in ("zone", "group") for verb in ("created", "updated")}
    return found


def test_every_action_recorded_anywhere_has_a_label():
    recorded = _recorded_actions()
    assert len(recorded) > 50  # the scan finds them
    assert recorded - set(AUDIT_LABELS) == set()
    assert set(AUDIT_LABELS) - recorded == set()  # and no label is left over


def test_every_label_reads_in_italian(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("it"):
        untranslated = [
            code for code, label in AUDIT_LABELS.items() if str(label) == label._args[0]
        ]
    assert untranslated == []


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        ((Role.ADMIN,), 200),
        ((Role.MODERATOR,), 403),
        ((Role.EDITOR,), 403),
        ((Role.STAKEHOLDER,), 403),
        ((Role.MODERATOR, Role.EDITOR), 403),
    ],
    ids=["admin", "moderator", "editor", "stakeholder", "moderator and editor"],
)
@pytest.mark.parametrize("path", ["/admin/audit/", "/admin/audit/export.csv"])
def test_only_administrators_see_the_trail(logged_in, make_comune, roles, status, path):
    extra = {"organisation": make_comune()} if Role.STAKEHOLDER in roles else {}
    client, _user = logged_in(*roles, **extra)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("path", ["/admin/audit/", "/admin/audit/export.csv"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def trail(db, logged_in, make_user):
    """An admin's client, and entries by two users on two objects over three days."""
    client, admin = logged_in(Role.ADMIN)
    anna = make_user(Role.MODERATOR, email="anna@example.org", name="Anna Bianchi")
    bruno = make_user(Role.EDITOR, email="bruno@example.org", name="=Bruno")
    now = utcnow()
    for days, actor, action, oid in [
        (10, anna, "round.open", 7),
        (5, bruno, "plan.version_frozen", 3),
        (5, anna, "round.close", 7),
        (0, bruno, "round.updated", 8),
    ]:
        entry = record(db.session, action, actor=actor, object_type="rounds", object_id=oid)
        entry.occurred_at = now - timedelta(days=days)
    db.session.commit()
    return client, admin, anna, bruno


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("<tr>")[1:]
    ]


def test_the_trail_reads_in_words_newest_first(trail):
    client, *_ = trail
    rows = _rows(client.get("/admin/audit/").get_data(as_text=True))
    assert "Consultazione modificata" in rows[0]  # Italian first
    assert [row.split()[0] for row in rows[:4]] == sorted(
        [row.split()[0] for row in rows[:4]], key=int, reverse=True
    )
    assert not any("round.updated" in row for row in rows)  # labels, not codes


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ("user=anna@example.org", {"round.open", "round.close"}),
        ("user=ANNA@example.org&action=round.close", {"round.close"}),
        ("object_type=rounds&object_id=7", {"round.open", "round.close"}),
        ("action=plan.version_frozen", {"plan.version_frozen"}),
        ("user=nobody@example.org", set()),
    ],
)
def test_filters(trail, query, actions):
    client, *_ = trail
    response = client.get(f"/admin/audit/export.csv?{query}")
    got = {
        row["action"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)[1:]))
    }
    assert got == actions


def test_a_time_range_takes_whole_local_days(trail):
    client, *_ = trail
    day = utc_to_local(utcnow() - timedelta(days=5)).date().isoformat()
    response = client.get(f"/admin/audit/export.csv?since={day}&until={day}")
    got = {
        row["action"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)[1:]))
    }
    assert got == {"plan.version_frozen", "round.close"}


def test_bad_filters_are_explained_and_user_data_escaped(trail):
    client, *_ = trail
    html = client.get(
        "/admin/audit/?user=<b>x</b>@example.org&since=yesterday&object_type=Drop;&action=nope"
    ).get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;@example.org" in html and "<b>x</b>" not in html
    for message in ("YYYY-MM-DD", "observations", "elenco"):
        assert message in html or message.replace("elenco", "list") in html


def test_the_csv_export_is_utf8_with_a_bom_and_safe_in_a_spreadsheet(trail):
    client, *_ = trail
    response = client.get("/admin/audit/export.csv")
    assert response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8")[1:])))
    assert {row["actor"] for row in rows} >= {"Anna Bianchi", "'=Bruno"}  # never a formula
    assert all(len(row["hash"]) == 64 for row in rows)


def _count_queries(client, path) -> int:
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(_db.engine, "before_cursor_execute", before)
    return len(statements)


def test_pages_are_bounded_whatever_the_length_of_the_trail(db, logged_in, make_user):
    client, _admin = logged_in(Role.ADMIN)
    users = [make_user(Role.MODERATOR) for _ in range(3)]

    def add(count):
        for number in range(count):
            record(db.session, "round.updated", actor=users[number % 3], object_type="rounds")
        db.session.commit()

    add(10)
    few = _count_queries(client, "/admin/audit/")
    add(110)
    many = _count_queries(client, "/admin/audit/")
    assert many == few
    html = client.get("/admin/audit/?page=3").get_data(as_text=True)
    total = db.session.scalar(select(func.count(AuditEntry.id)))  # the 120, the set-up's own
    assert total > 120 and len(_rows(html)) == total - 2 * 50  # the last page
    assert len(_rows(client.get("/admin/audit/").get_data(as_text=True))) == 50
    assert client.get("/admin/audit/?page=999999").status_code == 200
