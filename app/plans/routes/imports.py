"""Importing a text: upload, preview with the proposed matches, confirm or cancel."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.plans import operations
from app.plans.forms import STATUS_LABELS, ImportForm, LabelForm
from app.plans.models import PlanImport
from app.plans.permissions import can_manage_plans
from app.plans.routes.common import _plan, bp
from app.plans.tree import load_tree


@bp.route("/<slug>/import", methods=["GET", "POST"])
@require(can_manage_plans)
def import_text(slug: str):
    plan = _plan(slug)
    form = ImportForm()
    form.predecessor.choices = [(0, _("— nothing: the plan's first text —"))] + [
        (v.number, f"{v.number}. {v.label} ({STATUS_LABELS[v.status.value]})")
        for v in reversed(plan.versions)
    ]
    if request.method == "GET":  # a new text usually continues the latest fixed version
        fixed = [v for v in plan.versions if not v.is_draft]
        form.predecessor.data = fixed[-1].number if fixed else 0
    status = 200
    if form.validate_on_submit():
        predecessor = next((v for v in plan.versions if v.number == form.predecessor.data), None)
        upload = form.file.data
        limit = current_app.config["PLAN_IMPORT_MAX_BYTES"]
        data = upload.stream.read(limit + 1)
        with commit_or_refuse(form, field="file") as attempt:
            plan_import = operations.start_import(
                db.session,
                plan,
                data=data,
                filename=upload.filename or "",
                label=form.label.data,
                predecessor=predecessor,
                max_bytes=limit,
                actor=current_user,
            )
        if attempt.done:
            return redirect(url_for("plans.import_preview", slug=slug, import_id=plan_import.id))
        status = attempt.status
    elif request.method == "POST":
        status = 400
    return render_template("plans/import.html", plan=plan, form=form), status


@bp.route("/<slug>/import/<int:import_id>", methods=["GET", "POST"])
@require(can_manage_plans)
def import_preview(slug: str, import_id: int):
    plan = _plan(slug)
    plan_import = db.session.get(PlanImport, import_id)
    if plan_import is None or plan_import.plan_id != plan.id:
        abort(404)
    form = LabelForm(label=plan_import.label)  # CSRF, and the label may still be changed
    old = None
    if plan_import.predecessor is not None:
        old = load_tree(db.session, plan_import.predecessor)
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "cancel" and form.validate_on_submit():
            with commit_or_refuse():
                operations.cancel_import(db.session, plan_import, actor=current_user)
            flash(_("Import cancelled: nothing was saved."), "info")
            return redirect(url_for("plans.show_plan", slug=slug))
        if form.validate_on_submit():
            corrections = {
                name: value for name, value in request.form.items() if name.startswith(("s-", "p-"))
            }
            with commit_or_refuse() as attempt:
                plan_import.label = form.label.data.strip()
                version = operations.confirm_import(
                    db.session, plan_import, corrections=corrections, actor=current_user
                )
            if attempt.done:
                flash(_("Text imported as a new draft version."), "success")
                return redirect(url_for("plans.read_version", slug=slug, number=version.number))
            status = attempt.status
        else:
            status = 400
    sections = plan_import.structure["sections"]
    old_sections = {n.section.key: n.section for n in old.walk()} if old else {}
    old_paragraphs = {p.key: p for _n, p in old.paragraphs()} if old else {}
    return render_template(
        "plans/import_preview.html",
        plan=plan,
        plan_import=plan_import,
        sections=sections,
        form=form,
        old_sections=old_sections,
        old_paragraphs=old_paragraphs,
        paragraph_count=sum(len(s["paragraphs"]) for s in sections),
    ), status
