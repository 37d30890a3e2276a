"""Language selection: the visitor's explicit choice, then the user's preference, then Italian."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import gettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape


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


# Lazy messages ------------------------------------------------------------------------------


class EscapingLazyString(LazyString):
    """A lazy translated message whose interpolated values are escaped when shown as HTML.

    flask-babel's ``LazyString.__html__`` returns the raw text, so Jinja would print a CSV
    cell or a name interpolated into a message as markup. Here ``str()`` stays the plain text
    (for JSON, the command line and e-mail text) and ``__html__`` escapes the translated
    message and each value separately (a value that is itself a lazy message is escaped by its
    own ``__html__``).
    """

    def __html__(self) -> str:
        string, *rest = self._args
        variables = self._kwargs
        template = escape(self._func(string, *rest))
        return str(template % variables) if variables else str(template)


def lazy_gettext(string: str, **variables) -> EscapingLazyString:
    """Like flask-babel's ``lazy_gettext``, but safe to print with user data interpolated."""
    return EscapingLazyString(gettext, string, **variables)
