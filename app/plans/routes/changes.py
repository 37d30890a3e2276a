"""Stored changes: marking one editorial (from the comparison page)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.plans import operations
from app.plans.changes import TextChange
from app.plans.forms import EditorialForm
from app.plans.permissions import can_manage_plans, can_mark_editorial, can_see_change
from app.plans.queries import CHANGE
from app.plans.routes.common import bp


def _to_change(change: TextChange):
    version = change.version
    old = version.predecessor
    return redirect(
        url_for("plans.diff", slug=version.plan.slug, old=old.number, new=version.number)
        + f"#{change.anchor}"
    )


@bp.post("/<slug>/v<int:number>/changes/<int:change_id>/editorial")
@require(can_manage_plans, load=CHANGE, visible=can_see_change, allowed=can_mark_editorial)
def mark_editorial(change: TextChange):
    form = EditorialForm()
    if not form.validate_on_submit():
        flash(_("The note is too long, or the form has expired: try again."), "danger")
        return _to_change(change)
    unmark = form.unmark.data == "1"
    with commit_or_refuse() as attempt:
        operations.mark_editorial(
            db.session,
            change,
            editorial=not unmark,
            note=form.note.data or "",
            actor=current_user,
        )
    if attempt.done:
        flash(
            _("The editorial mark was removed.") if unmark else _("Change marked editorial."),
            "success",
        )
    return _to_change(change)
