"""The plans blueprint and what its views share: loading a plan, a version or one of its parts
(404 when missing), refusing, and where an editor goes back to."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.plans.forms import POLICY_AREA_LABELS, STATUS_LABELS
from app.plans.models import Paragraph, Plan, PlanVersion, Section
from app.plans.permissions import can_edit_version, can_manage_plans
from app.plans.queries import get_plan, get_version

bp = Blueprint("plans", __name__, url_prefix="/plans")

#: Versions with at most this many paragraphs are read on one page.
ONE_PAGE_PARAGRAPHS = 80
#: The import confirmation carries one field per section and paragraph.
IMPORT_FORM_PARTS = 50_000


@bp.record_once
def _register_template_helpers(state) -> None:
    env = state.app.jinja_env
    env.globals["policy_area_label"] = lambda area: str(POLICY_AREA_LABELS.get(area, ""))
    env.globals["status_label"] = lambda status: str(STATUS_LABELS.get(status, status))


@bp.url_value_preprocessor
def _allow_large_import_forms(endpoint, values) -> None:
    # Runs before the CSRF check reads the form, which would stop at the default 1,000 parts.
    if endpoint == "plans.import_preview":
        request.max_form_parts = IMPORT_FORM_PARTS


# Loading -----------------------------------------------------------------------------------


def _plan(slug: str) -> Plan:
    plan = get_plan(slug)
    if plan is None:
        abort(404)
    return plan


def _version(slug: str, number: int) -> PlanVersion:
    version = get_version(slug, number)
    if version is None:
        abort(404)
    return version


def _editable_version(slug: str, number: int) -> PlanVersion:
    """The version if the user may edit it; a frozen one sends the editor back to reading it."""
    version = _version(slug, number)
    if not can_edit_version(current_user, version):
        if can_manage_plans(current_user):
            flash(
                _(
                    "This version is %(status)s: its text can no longer be changed.",
                    status=STATUS_LABELS[version.status.value],
                ),
                "danger",
            )
            abort(redirect(url_for("plans.read_version", slug=slug, number=number)))
        abort(403)
    return version


def _by_key(model, version: PlanVersion, key: str):
    found = db.session.scalar(select(model).where(model.version_id == version.id, model.key == key))
    if found is None:
        abort(404)
    return found


def _section(version: PlanVersion, key: str) -> Section:
    return _by_key(Section, version, key)


def _paragraph(version: PlanVersion, key: str) -> Paragraph:
    return _by_key(Paragraph, version, key)


def _lock(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _submitted(form) -> bool:
    """``validate_on_submit``, except that a missing or garbled ``lock_version`` is no form
    error: it goes to the operation as None, which refuses it as a conflict (nothing tells
    which saved text the editor started from) and shows the current text."""
    if not form.is_submitted():
        return False
    if form.validate():
        return True
    if set(form.errors) == {"lock_version"}:
        form.lock_version.errors = []
        form.lock_version.data = None
        return True
    return False


def _gone(version: PlanVersion):
    """What was being edited was deleted by someone else meanwhile."""
    flash(_("Someone else deleted this text meanwhile: your change was not saved."), "danger")
    return _to_version(version)


def _to_version(version: PlanVersion, anchor: str | None = None):
    return redirect(
        url_for("plans.edit_version", slug=version.plan.slug, number=version.number)
        + (f"#{anchor}" if anchor else "")
    )


def _to_section_editor(version: PlanVersion, section: Section, anchor: str | None = None):
    return redirect(
        url_for(
            "plans.edit_section", slug=version.plan.slug, number=version.number, key=section.key
        )
        + (f"#{anchor}" if anchor else "")
    )
