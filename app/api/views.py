"""What every API view shares: token authentication, rate limits, JSON bodies, idempotency.

API views return ``(payload, status)``; ``api_view`` turns that into JSON, commits once, and
honours an ``Idempotency-Key`` header on POST by storing the answer in the same transaction as
the change, so that a retried request gets the same answer and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import timedelta
from functools import wraps

from flask import current_app, g, jsonify, make_response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.api import operations
from app.api.errors import ApiError
from app.api.models import IdempotencyRecord
from app.api.ratelimit import limiter
from app.core.bounds import MAX_JSON_DEPTH, JsonProblem, load_json
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.extensions import db

IDEMPOTENCY_HEADER = "Idempotency-Key"


def authenticate_request() -> None:
    """Find the request's token (``Authorization: Bearer …``) or refuse with 401/429."""
    config = current_app.config
    client = request.remote_addr or "unknown"
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = None
    if scheme.lower() == "bearer" and secret.strip():
        token = operations.authenticate(db.session, secret.strip())
    if token is None:
        wait = limiter.hit(f"api-auth-failure:{client}", config["API_AUTH_FAILURES_PER_MINUTE"])
        if wait is not None:
            raise ApiError(429, _l("Too many failed attempts."), headers=_retry_after(wait))
        raise ApiError(
            401,
            _l("A valid API token is required (header Authorization: Bearer <token>)."),
            headers={"WWW-Authenticate": 'Bearer realm="traccia"'},
        )
    wait = limiter.hit(f"api-token:{token.id}", config["API_RATE_LIMIT_PER_MINUTE"])
    if wait is not None:
        raise ApiError(429, _l("Too many requests for this token."), headers=_retry_after(wait))
    g.api_token = token
    g._login_user = token.user  # permission predicates see the token's user as current_user
    if db.session.dirty:  # last_used_at moved on
        db.session.commit()


def _retry_after(seconds: float) -> dict:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def json_body() -> dict:
    """The request's JSON object, or a 415/400 error that says what is wrong."""
    if not request.is_json:
        raise ApiError(415, _l("Send the body as JSON (Content-Type: application/json)."))
    try:
        body = load_json(request.get_data(cache=True))
    except JsonProblem as problem:
        message = JSON_PROBLEMS[problem.kind]
        if problem.field:
            raise ApiError(
                problem.status,
                message,
                code="invalid_input",
                fields={problem.field: [_l("Character not allowed.")]},
            ) from problem
        code = "invalid_json" if problem.status == 400 else "invalid_input"
        raise ApiError(problem.status, message, code=code) from problem
    if not isinstance(body, dict):
        raise ApiError(400, _l("The body is not a valid JSON object."), code="invalid_json")
    return body


JSON_PROBLEMS = {
    "encoding": _l("The body is not valid UTF-8."),
    "syntax": _l("The body is not valid JSON."),
    "depth": _l("The JSON is nested too deeply (at most %(n)d levels).", n=MAX_JSON_DEPTH),
    "character": _l(
        "A text contains a character that cannot be stored (a lone surrogate, a NUL or another "
        "control character)."
    ),
}


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str):
    if record.fingerprint != fingerprint:
        raise ApiError(
            422,
            _l("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
        )
    response = make_response(record.body, record.status_code)
    response.mimetype = "application/json"
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find_record(key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == g.api_token.id, IdempotencyRecord.key == key
        )
    )


def _idempotent(view, key: str, args, kwargs):
    if not 1 <= len(key) <= 255 or not all(" " <= char <= "~" for char in key):
        raise ApiError(
            400,
            _l("The Idempotency-Key must be 1 to 255 printable ASCII characters."),
            code="invalid_idempotency_key",
        )
    fingerprint = _fingerprint()
    record = _find_record(key)
    ttl = timedelta(seconds=current_app.config["API_IDEMPOTENCY_TTL_SECONDS"])
    if record is not None and record.created_at < utcnow() - ttl:
        db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
        record = None
    if record is not None:
        return _replay(record, fingerprint)
    payload, status = view(*args, **kwargs)
    if 200 <= status < 300:
        db.session.add(
            IdempotencyRecord(
                token_id=g.api_token.id,
                key=key,
                fingerprint=fingerprint,
                status_code=status,
                body=json.dumps(payload),
            )
        )
    try:
        db.session.commit()
    except IntegrityError:
        # The same key arrived twice at once and the other request committed first: undo ours
        # (the change and its record) and give the other's answer.
        db.session.rollback()
        record = _find_record(key)
        if record is None:
            raise
        return _replay(record, fingerprint)
    return jsonify(payload), status


def api_view(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and request.method == "POST":
            return _idempotent(view, key.strip(), args, kwargs)
        payload, status = view(*args, **kwargs)
        db.session.commit()
        return jsonify(payload), status

    return wrapped
