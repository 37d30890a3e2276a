from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from app.core.audit_labels import audit_label
from app.core.i18n import lazy_gettext as _l
from app.core.permissions import PREDICATES, is_admin
from app.core.roles import ROLE_LABELS
from app.core.urls import absolute_url

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
add_nav_item("admin_audit.entries", _l("Audit trail"), is_admin)


def _current_item(items: list[NavItem], endpoint: str) -> NavItem | None:
    """The one item that marks the current page: its own endpoint, else the first item whose
    prefix covers the endpoint (two items of one blueprint never both claim a page)."""
    for item in items:
        if item.endpoint == endpoint:
            return item
    for item in items:
        if endpoint == item.prefix or endpoint.startswith(item.prefix + "."):
            return item
    return None


def _navigation() -> list[dict]:
    endpoint = (request.endpoint or "") if has_request_context() else ""
    items = [item for item in NAVIGATION if item.visible(current_user)]
    current = _current_item(items, endpoint)
    return [
        {"url": url_for(item.endpoint), "label": item.label, "active": item is current}
        for item in items
    ]


#: The settings the shell's fixed parts show (a change of one gives them a new cache entry).
_SHELL_SETTINGS = (
    "TRACCIA_OWNER_NAME",
    "TRACCIA_OWNER_URL",
    "TRACCIA_ACCESSIBILITY_URL",
    "TRACCIA_PRIVACY_URL",
    "TRACCIA_FEEDBACK_URL",
    "TRACCIA_CONTACT_EMAIL",
)


def shell_part(name: str) -> Markup:
    """A fixed part of the page shell (``templates/shell/<name>.html``: the styles, the header's
    brand and menu frame, the footer), rendered once per language and configuration and then
    served from memory: every page pays for the shell, and these parts depend on nothing else.
    In debug mode (templates reloaded as they change) it is rendered every time."""
    app = current_app._get_current_object()
    if app.debug or app.jinja_env.auto_reload:
        return Markup(render_template(f"shell/{name}.html"))  # noqa: S704 - autoescaped output
    config = app.config
    key = (name, str(get_locale()), tuple(config.get(setting) for setting in _SHELL_SETTINGS))
    parts = app.extensions.setdefault("traccia.shell_parts", {})
    part = parts.get(key)
    if part is None:
        part = parts[key] = Markup(render_template(f"shell/{name}.html"))  # noqa: S704 - as above
    return part


def css_string(value) -> Markup:
    """``value`` as a CSS string literal (the PDF annex's margins): every character but letters,
    digits and spaces written as a CSS escape, so that no text ends the string, the rule or the
    style element it stands in."""
    escaped = "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in str(value))
    return Markup(f'"{escaped}"')  # noqa: S704 - every other character is escaped


def init_templating(app: Flask) -> None:
    from app.core.formats import init_formats

    init_formats(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(PREDICATES)
    app.jinja_env.globals["shell_part"] = shell_part
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["role_label"] = lambda role: str(ROLE_LABELS.get(role, role))
    app.jinja_env.filters["audit_label"] = audit_label
    app.jinja_env.filters["outbox_status_label"] = lambda s: str(OUTBOX_STATUS_LABELS.get(s, s))
    app.jinja_env.filters["css_string"] = css_string

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
