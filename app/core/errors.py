"""Error pages (in the shell) and JSON errors (under /api/) for every failure a user can meet."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, g, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api.errors import ApiError, json_error
from app.core.i18n import lazy_gettext as _l
from app.extensions import db, login_manager

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Nothing was changed.")),
    401: (_l("Login required"), _l("Please log in to continue.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The address may be mistyped, or the page may have moved.")),
    405: (_l("Method not allowed"), _l("This page cannot be used in that way.")),
    409: (_l("Conflict"), _l("The request conflicts with the current state of the resource.")),
    413: (
        _l("Request too large"),
        _l("What you sent is larger than the limit. Nothing was saved; please send less."),
    ),
    415: (_l("Unsupported media type"), _l("This kind of content is not accepted here.")),
    422: (_l("Invalid data"), _l("Some of the data sent is not valid.")),
    429: (
        _l("Too many requests"),
        _l("Too many attempts in a short time. Please wait a few minutes and try again."),
    ),
    500: (
        _l("Internal error"),
        _l("Something went wrong on our side. Nothing was saved; please try again later."),
    ),
    503: (
        _l("Service unavailable"),
        _l("The service is temporarily unavailable. Nothing was saved; please try again later."),
    ),
}

CSRF_MESSAGE = _l(
    "The form had expired or was not sent from this site, so nothing was changed. "
    "Please reload the page and try again."
)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(code: int, message: str | None = None):
    title, default_message = MESSAGES.get(code, MESSAGES[500])
    message = str(message or default_message)
    if wants_json():
        return json_error(code, title, message)
    body = render_template("errors/error.html", code=code, title=title, message=message)
    return make_response(body, code)


def _forget_user() -> None:
    """Make templates see an anonymous user without asking the (possibly broken) database."""
    g._login_user = login_manager.anonymous_user()


def init_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(error: ApiError):
        title = MESSAGES.get(error.status, MESSAGES[500])[0]
        return json_error(
            error.status,
            title,
            error.message,
            code=error.code,
            fields=error.fields,
            headers=error.headers,
        )

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return error_response(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code >= 500:
            return _server_error(error)
        # A message given to abort() is shown; Werkzeug's generic English text is not.
        custom = error.description != type(error).description
        description = error.description if custom else None
        response = error_response(error.code, description)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):
        log.error("database error on %s %s: %s", request.method, request.path, error.orig)
        with contextlib.suppress(DBAPIError):
            db.session.rollback()
        _forget_user()
        return error_response(503)

    @app.errorhandler(InternalServerError)
    def _server_error(error):
        original = getattr(error, "original_exception", None)
        if isinstance(original, DBAPIError):
            return _database(original)
        try:
            db.session.rollback()
        except DBAPIError:
            _forget_user()
        code = error.code if isinstance(error, HTTPException) and error.code else 500
        return error_response(code)
