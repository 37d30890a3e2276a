from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.core.permissions import PREDICATES

#: How audit actions read in history lists; an unknown action shows its code.
AUDIT_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.logout": _l("Logged out"),
    "auth.login_failed": _l("Failed login"),
    "auth.login_throttled": _l("Login refused: too many failures"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset_requested": _l("Password reset requested"),
    "auth.password_reset": _l("Password reset"),
    "auth.welcome_sent": _l("Link to set the password sent"),
    "user.created": _l("Account created"),
    "user.updated": _l("Account details changed"),
    "user.roles_changed": _l("Roles changed"),
    "user.activated": _l("Account reactivated"),
    "user.deactivated": _l("Account deactivated"),
}


def init_templating(app: Flask) -> None:
    from app.accounts.forms import ROLE_LABELS

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(PREDICATES)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["role_label"] = lambda role: str(ROLE_LABELS.get(role, role))
    app.jinja_env.filters["audit_label"] = lambda action: str(AUDIT_LABELS.get(action, action))

    @app.context_processor
    def _shell_context():
        in_request = has_request_context()
        return {
            "owner_name": current_app.config["TRACCIA_OWNER_NAME"],
            "owner_url": current_app.config["TRACCIA_OWNER_URL"],
            "languages": current_app.config["LANGUAGES"],
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "current_path": request.full_path.rstrip("?") if in_request else "/",
        }
