"""CSV imports of organisations and zone assignments: upload, preview, apply."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.stakeholders import imports
from app.stakeholders.csvfiles import MAX_CSV_BYTES, CsvError, decode
from app.stakeholders.forms import ApplyImportForm, ImportForm
from app.stakeholders.permissions import can_manage_registry
from app.stakeholders.routes.common import bp

IMPORTERS = {
    "zones": imports.import_zone_assignments,
    "organisations": imports.import_organisations,
}


@bp.route("/registry/import/zones", methods=["GET", "POST"])
@require(can_manage_registry)
def import_zones():
    return _import_csv("zones")


@bp.route("/registry/import/organisations", methods=["GET", "POST"])
@require(can_manage_registry)
def import_organisations():
    return _import_csv("organisations")


def _import_csv(what: str):
    """Upload → preview (nothing written) → import the previewed text, checked again."""
    upload = ImportForm()
    apply_form = ApplyImportForm(prefix="apply")
    plan = content = None
    applying = bool(apply_form.content.data) and apply_form.validate_on_submit()
    if applying or upload.validate_on_submit():
        if applying:
            raw = apply_form.content.data.encode("utf-8")
        else:
            raw = upload.file.data.read(MAX_CSV_BYTES + 1)
        with commit_or_refuse() as attempt:
            plan = IMPORTERS[what](db.session, raw, actor=current_user, apply=applying)
            if not plan.applied:
                attempt.discard()  # the preview, or problems found: nothing is written
        if attempt.done:
            flash(
                _(
                    "Import done: %(create)d created, %(update)d updated, %(unchanged)d unchanged.",
                    **plan.counts,
                ),
                "success",
            )
            return redirect(url_for("stakeholders.list_organisations"))
        if applying:
            content = apply_form.content.data
        elif plan.ok:
            try:
                content, _encoding = decode(raw)
            except CsvError:  # pragma: no cover - the plan would not be ok
                content = None
    status = 200 if plan is None or plan.ok else 422
    return render_template(
        "stakeholders/import.html",
        what=what,
        upload=upload,
        apply_form=apply_form,
        plan=plan,
        content=content,
        columns=imports.ZONE_COLUMNS if what == "zones" else imports.ORGANISATION_COLUMNS,
    ), status
