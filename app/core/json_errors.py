"""The API's error shape, stable for integrations:

``{"error": {"status": 422, "code": "invalid_input", "title": "…", "message": "…",
"fields": {"text": ["…"]}}}``; ``code`` is the machine-readable part and never changes meaning.
"""

from __future__ import annotations

from flask import jsonify, make_response

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message,
        *,
        code: str | None = None,
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.fields = fields
        self.headers = headers or {}


def json_error(status: int, title, message, *, code: str | None = None, fields=None, headers=None):
    error = {
        "status": status,
        "code": code or CODES.get(status, "error"),
        "title": str(title),
        "message": str(message),
    }
    if fields:
        error["fields"] = {name: [str(m) for m in messages] for name, messages in fields.items()}
    response = make_response(jsonify(error=error), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
