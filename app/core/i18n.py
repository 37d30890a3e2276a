"""Language selection: the visitor's explicit choice, then the user's preference, then Italian."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and workers: e-mails pass their locale explicitly
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.blueprint == "api":  # integrations ask with Accept-Language
        return request.accept_languages.best_match(languages) or languages[0]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    user = current_user
    if user and getattr(user, "is_authenticated", False) and user.locale in languages:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]
