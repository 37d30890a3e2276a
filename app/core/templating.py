from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from app.core.i18n import lazy_gettext as _l
from app.core.permissions import PREDICATES, is_admin
from app.core.urls import absolute_url

#: How audit actions read in history lists; an unknown action shows its code.
AUDIT_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.logout": _l("Logged out"),
    "auth.login_failed": _l("Failed login"),
    "auth.login_throttled": _l("Login refused: too many failures"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset_requested": _l("Password reset requested"),
    "auth.password_reset": _l("Password reset"),
    "auth.password_reset_throttled": _l("Password reset refused: too many requests"),
    "auth.welcome_sent": _l("Link to set the password sent"),
    "user.created": _l("Account created"),
    "user.updated": _l("Account details changed"),
    "user.roles_changed": _l("Roles changed"),
    "user.activated": _l("Account reactivated"),
    "user.deactivated": _l("Account deactivated"),
    "outbox.requeued": _l("E-mail re-queued"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "round.created": _l("Round created"),
    "round.updated": _l("Round changed"),
    "round.schedule": _l("Round scheduled"),
    "round.unschedule": _l("Round back in preparation"),
    "round.open": _l("Round opened"),
    "round.close": _l("Round closed"),
    "round.start_review": _l("Review started"),
    "round.conclude": _l("Round concluded"),
    "round.reminded": _l("Reminder sent"),
    "observation.draft_started": _l("Draft started"),
    "observation.submitted": _l("Observation submitted"),
    "observation.recorded": _l("Observation recorded by staff"),
    "observation.withdrawn": _l("Observation withdrawn"),
}

OUTBOX_STATUS_LABELS = {
    "pending": _l("Pending"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}

#: Language names as their own speakers write them, for the language switch.
LANGUAGE_NAMES = {"it": "Italiano", "en": "English"}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    visible: Callable
    #: Endpoints under this prefix mark the item as the current section.
    prefix: str


NAVIGATION: list[NavItem] = []


def add_nav_item(endpoint: str, label, visible: Callable = lambda user: True, prefix=None):
    """Add an entry to the main navigation, shown to users for whom ``visible(user)`` holds."""
    NAVIGATION.append(NavItem(endpoint, label, visible, prefix or endpoint.rsplit(".", 1)[0]))


add_nav_item("core.home", _l("Home"), prefix="core.home")
add_nav_item("plans.index", _l("Plans"))
add_nav_item("admin_users.list_users", _l("Users"), is_admin)
add_nav_item("rounds.list_rounds", _l("Consultations"), lambda user: user.is_authenticated)
add_nav_item("observations.mine", _l("My observations"), lambda user: user.is_authenticated)
add_nav_item("observations.track", _l("Follow an observation"))
add_nav_item("admin_outbox.list_messages", _l("E-mail outbox"), is_admin)
add_nav_item("admin_api_tokens.tokens", _l("API tokens"), is_admin)


def _navigation() -> list[dict]:
    endpoint = (request.endpoint or "") if has_request_context() else ""
    return [
        {
            "url": url_for(item.endpoint),
            "label": item.label,
            "active": endpoint == item.prefix or endpoint.startswith(item.prefix + "."),
        }
        for item in NAVIGATION
        if item.visible(current_user)
    ]


def init_templating(app: Flask) -> None:
    from app.accounts.forms import ROLE_LABELS

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(PREDICATES)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["role_label"] = lambda role: str(ROLE_LABELS.get(role, role))
    app.jinja_env.filters["audit_label"] = lambda action: str(AUDIT_LABELS.get(action, action))
    app.jinja_env.filters["outbox_status_label"] = lambda s: str(OUTBOX_STATUS_LABELS.get(s, s))

    @app.context_processor
    def _shell_context():
        config = current_app.config
        in_request = has_request_context()
        return {
            "owner_name": config["TRACCIA_OWNER_NAME"],
            "owner_url": config["TRACCIA_OWNER_URL"],
            "accessibility_url": config["TRACCIA_ACCESSIBILITY_URL"],
            "privacy_url": config["TRACCIA_PRIVACY_URL"]
            or (url_for("core.privacy") if in_request else absolute_url("core.privacy")),
            "feedback_url": config["TRACCIA_FEEDBACK_URL"]
            or f"mailto:{config['TRACCIA_CONTACT_EMAIL']}",
            "language_names": {
                code: LANGUAGE_NAMES.get(code, code) for code in config["LANGUAGES"]
            },
            "current_locale": str(get_locale() or config["BABEL_DEFAULT_LOCALE"]),
            "current_path": request.full_path.rstrip("?") if in_request else "/",
            "navigation": _navigation() if in_request else [],
        }
