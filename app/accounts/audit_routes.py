"""The audit trail for administrators: filter by user, object, action and time; export as CSV."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.core import audit_queries as queries
from app.core.audit_labels import AUDIT_LABELS, audit_label
from app.core.csvstream import csv_stream
from app.core.permissions import is_admin, require
from app.core.timezones import local_to_utc
from app.extensions import db

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 50
#: Longest value a filter field takes (an e-mail address is at most 254 characters).
FIELD_MAX = 254


def _filters() -> tuple[queries.AuditFilter, dict, list[str]]:
    """The filter asked for in the query string, the values to show back in the form, and what
    was wrong with it (a wrong field is left out of the filter, and said so)."""
    args = {
        name: (request.args.get(name) or "").strip()[:FIELD_MAX]
        for name in ("user", "object_type", "object_id", "action", "since", "until")
    }
    problems, where = [], {}
    if args["user"]:
        user_id = db.session.scalar(select(User.id).where(User.email == args["user"].lower()))
        if user_id is None:
            # gettext gives a plain string, which the template escapes (a lazy string would not)
            problems.append(_("No account has the address %(email)s.", email=args["user"]))
            where["nobody"] = True
        where["actor_id"] = user_id
    if args["object_type"]:
        if queries.valid_object_type(args["object_type"]):
            where["object_type"] = args["object_type"]
        else:
            problems.append(_("The object type is a table name, such as observations."))
    if args["object_id"]:
        where["object_id"] = args["object_id"][:64]
    if args["action"]:
        if args["action"] in AUDIT_LABELS:
            where["action"] = args["action"]
        else:
            problems.append(_("Choose an action from the list."))
    days = {}
    for name in ("since", "until"):
        if args[name]:
            try:
                days[name] = date.fromisoformat(args[name])
            except ValueError:
                problems.append(_("Write dates as YYYY-MM-DD."))
    where["since"], where["until"] = queries.day_range(
        days.get("since"), days.get("until"), local_to_utc
    )
    return queries.AuditFilter(**where), args, problems


def _actions() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, label in AUDIT_LABELS.items()), key=lambda a: a[1])


@bp.get("/")
@require(is_admin)
def entries():
    where, args, problems = _filters()
    page = db.paginate(
        queries.entries(where), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False
    )
    return render_template(
        "admin/audit.html",
        page=page,
        args=args,
        problems=problems,
        actions=_actions(),
        filters={k: v for k, v in args.items() if v},
    )


CSV_COLUMNS = (
    "seq",
    "occurred_at_utc",
    "actor_id",
    "actor",
    "action",
    "action_label",
    "object_type",
    "object_id",
    "details",
    "hash",
)


@bp.get("/export.csv")
@require(is_admin)
def export():
    where, _args, _problems = _filters()

    def rows():
        for entry in queries.batches(db.session, where):
            yield (
                entry.seq,
                entry.occurred_at.isoformat(),
                entry.actor_id,
                entry.actor.display_name if entry.actor else "",
                entry.action,
                audit_label(entry.action),
                entry.object_type,
                entry.object_id,
                json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
                entry.hash,
            )

    return Response(
        stream_with_context(csv_stream(CSV_COLUMNS, rows())),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="traccia-audit.csv"'},
    )
