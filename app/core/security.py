"""Deny by default, and the security headers every response carries."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request
from flask_login import current_user

from app.extensions import login_manager

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def public(view: Callable) -> Callable:
    """Mark a view as reachable without logging in. Everything else needs a login."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


#: Blueprints that authenticate each request themselves (API tokens), not by a login session.
TOKEN_AUTHENTICATED_BLUEPRINTS = {"api"}


def is_public_endpoint(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None:  # no route matched: let the 404 handler answer
        return True
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view = app.view_functions.get(endpoint)
    return bool(getattr(view, "is_public", False))


def init_security(app: Flask) -> None:
    @app.before_request
    def _require_login():
        if is_public_endpoint(app, request.endpoint):
            return None
        if request.blueprint in TOKEN_AUTHENTICATED_BLUEPRINTS:
            return None  # the blueprint's own before_request demands a token
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static" and "Cache-Control" not in headers:
            # Pages can carry personal data: never keep them in shared or back-button caches.
            headers["Cache-Control"] = "no-store"
        return response
