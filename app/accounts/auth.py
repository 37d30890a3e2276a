"""Flask-Login wiring: users are loaded by their session token, never by their id."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for

from app.accounts.models import User
from app.accounts.operations import load_session_user
from app.core.i18n import lazy_gettext as _l
from app.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(session_token: str) -> User | None:
        # By the live server-side session the cookie names (accounts.operations), so that a
        # cookie replayed after logout, a password change or a deactivation is refused.
        return load_session_user(db.session, session_token)

    @login_manager.unauthorized_handler
    def _unauthorized():
        if request.path.startswith("/api/"):
            from app.core.errors import error_response

            return error_response(401)
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
