"""The open-data API: read-only and public, for concluded rounds of plans shown to everyone
(``/api/v1/open/…``, described in ``/api/v1/openapi.json``). No token, no session: what an
anonymous visitor may read of the report (``can_read_report``), with stable identifiers
(protocol numbers, point numbers, section and paragraph keys, change ids).

Lists are paginated by an opaque cursor (keyset: a page costs the same whatever its place in
the list) with a bounded ``limit``; every answer carries an ``ETag`` and a matching
``If-None-Match`` gets ``304 Not Modified``. The whole round as one file is the report's CSV or
JSON Lines export (``downloads`` in a round's answer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math

from flask import Blueprint, Response, current_app, request, url_for
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from app.core.bounds import DB_INT_MAX
from app.core.i18n import lazy_gettext as _l
from app.core.json_errors import ApiError, json_error
from app.core.ratelimit import limiter
from app.core.security import public
from app.decisions.links import DecisionLink
from app.decisions.models import Decision, DecisionState
from app.extensions import db
from app.observations.models import Observation, Point
from app.plans.changes import ChangeSide, TextChange, TextChangeParagraph, TextChangeSpan
from app.plans.models import Paragraph
from app.reports import exports, queries, rows
from app.reports.permissions import can_read_report
from app.rounds.models import Round, RoundState

bp = Blueprint("opendata", __name__, url_prefix="/api/v1/open")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_ANONYMOUS = AnonymousUserMixin()


@bp.before_request
def _rate_limit() -> None:
    wait = limiter.hit(
        f"open-api:{request.remote_addr or 'unknown'}",
        current_app.config["OPEN_API_RATE_LIMIT_PER_MINUTE"],
    )
    if wait is not None:
        raise ApiError(
            429,
            _l("Too many requests: try again in a minute."),
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return json_error(
        error.status, error.message, error.message, code=error.code, headers=error.headers
    )


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _answer(payload: dict) -> Response:
    """JSON with a strong ETag of its bytes; 304 when the client already has them."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    tag = hashlib.sha256(body.encode()).hexdigest()[:32]
    if request.if_none_match.contains(tag):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.set_etag(tag)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def _limit() -> int:
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            400,
            _l("limit must be a whole number from 1 to %(n)d.", n=MAX_LIMIT),
            code="invalid_limit",
        )
    return int(raw)


def _cursor() -> int:
    """The position after which the page starts (0: the beginning)."""
    raw = request.args.get("cursor")
    if raw is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw.encode("ascii") + b"==").decode("ascii")
        kind, _, value = text.partition(":")
        if kind != "after" or not value.isdigit() or len(value) > 10:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeError, binascii.Error):
        raise ApiError(
            400,
            _l("This cursor is not one the API gave: start again without it."),
            code="invalid_cursor",
        ) from None


def _next(after: int, page: list, limit: int) -> str | None:
    if len(page) < limit:
        return None
    return base64.urlsafe_b64encode(f"after:{after}".encode()).decode().rstrip("=")


def _public_round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id) if round_id <= DB_INT_MAX else None
    if round_ is None or not can_read_report(_ANONYMOUS, round_):
        raise ApiError(404, _l("No such concluded public round."))
    return round_


def _round(round_: Round) -> dict:
    plan = round_.version.plan
    response = round_.response_version
    return {
        "id": round_.id,
        "title": round_.title,
        "protocol_prefix": round_.protocol_prefix,
        "opens_at": _iso(round_.opens_at),
        "closes_at": _iso(round_.closes_at),
        "plan": {"slug": plan.slug, "title": plan.title},
        "consulted_version": round_.version.number,
        "response_version": response.number if response else None,
        "report": url_for("reports.by_observation", round_id=round_.id, _external=True),
        "downloads": {
            fmt: url_for("reports.export", round_id=round_.id, fmt=fmt, _external=True)
            for fmt in ("csv", "jsonl")
        },
    }


@bp.get("/rounds")
@public
def rounds():
    """Concluded rounds, newest id first."""
    limit, after = _limit(), _cursor()
    query = select(Round).where(Round.state == RoundState.CONCLUDED).order_by(Round.id)
    if after:
        query = query.where(Round.id > after)
    page = db.session.scalars(query.limit(limit)).all()
    shown = [r for r in page if can_read_report(_ANONYMOUS, r)]
    return _answer(
        {
            "rounds": [_round(r) for r in shown],
            "next_cursor": _next(page[-1].id if page else 0, page, limit),
        }
    )


@bp.get("/rounds/<int:round_id>")
@public
def round_(round_id: int):
    return _answer(_round(_public_round(round_id)))


@bp.get("/rounds/<int:round_id>/points")
@public
def points(round_id: int):
    """The report's rows (one per point; one per observation not admissible), a page of
    ``limit`` observations at a time in protocol order."""
    round_ = _public_round(round_id)
    limit, after = _limit(), _cursor()
    numbers = db.session.scalars(
        queries.registered(round_)
        .with_only_columns(Observation.protocol_number)
        .where(Observation.protocol_number > after)
        .order_by(Observation.protocol_number)
        .limit(limit)
    ).all()
    records = rows.records(
        db.session, round_.id, draft=False, columns=exports.COLUMNS, after=after, limit=limit
    )
    points = [{name: value for name, value in r.items() if name != "draft"} for r in records]
    last = numbers[-1] if numbers else 0
    return _answer({"points": points, "next_cursor": _next(last, numbers, limit)})


@bp.get("/rounds/<int:round_id>/changes")
@public
def changes(round_id: int):
    """The stored changes of the round's response version (current ones, by id), with the
    paragraphs they cover on each side, their words, and the points whose published decision
    links to them."""
    round_ = _public_round(round_id)
    limit, after = _limit(), _cursor()
    if round_.response_version_id is None:
        return _answer({"changes": [], "next_cursor": None})
    page = list(
        db.session.scalars(
            select(TextChange)
            .where(
                TextChange.version_id == round_.response_version_id,
                TextChange.ended_at.is_(None),
                TextChange.id > after,
            )
            .order_by(TextChange.id)
            .limit(limit)
        )
    )
    ids = [c.id for c in page]
    keys: dict[int, dict[str, list[str]]] = {i: {"old": [], "new": []} for i in ids}
    for change_id, side, key in db.session.execute(
        select(TextChangeParagraph.change_id, TextChangeParagraph.side, Paragraph.key)
        .join(Paragraph, Paragraph.id == TextChangeParagraph.paragraph_id)
        .where(TextChangeParagraph.change_id.in_(ids))
        .order_by(TextChangeParagraph.change_id, TextChangeParagraph.position)
    ):
        keys[change_id]["old" if side is ChangeSide.OLD else "new"].append(key)
    words: dict[int, list[dict]] = {i: [] for i in ids}
    for span in db.session.scalars(
        select(TextChangeSpan)
        .where(TextChangeSpan.change_id.in_(ids))
        .order_by(TextChangeSpan.change_id, TextChangeSpan.ordinal)
    ):
        words[span.change_id].append(
            {"id": span.id, "deleted": span.old_text, "inserted": span.new_text}
        )
    linked: dict[int, list[dict]] = {i: [] for i in ids}
    for change_id, point, outcome in db.session.execute(
        select(DecisionLink.change_id, Point, Decision.outcome)
        .join(Decision, Decision.id == DecisionLink.decision_id)
        .join(Point, Point.id == Decision.point_id)
        .where(DecisionLink.change_id.in_(ids), Decision.state == DecisionState.PUBLISHED)
        .order_by(DecisionLink.change_id, Point.id)
    ):
        linked[change_id].append({"point": point.label, "outcome": outcome.value})
    rows = [
        {
            "id": c.id,
            "scope": c.scope.value,
            "kind": c.kind.value,
            "moved": c.moved,
            "editorial": c.editorial,
            "editorial_note": c.editorial_note or None,
            "paragraphs": keys[c.id],
            "words": words[c.id],
            "points": linked[c.id],
        }
        for c in page
    ]
    return _answer({"changes": rows, "next_cursor": _next(ids[-1] if ids else 0, page, limit)})
