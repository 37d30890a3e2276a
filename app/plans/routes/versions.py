"""Creating a plan, its settings, and a version's life cycle (successor, freeze, adopt)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.confirm import ask_first
from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.plans import operations
from app.plans.forms import STATUS_LABELS, LabelForm, NewPlanForm, PlanForm
from app.plans.models import Audience
from app.plans.permissions import can_manage_plans
from app.plans.routes.common import _plan, _to_version, _version, bp


def _plan_fields(form) -> dict:
    return {
        "title": form.title.data,
        "owner": form.owner.data,
        "description": form.description.data or "",
        "audience": Audience(form.audience.data),
    }


@bp.route("/new", methods=["GET", "POST"])
@require(can_manage_plans)
def new_plan():
    form = NewPlanForm()
    if request.method == "GET":
        form.owner.data = current_app.config["TRACCIA_OWNER_NAME"]
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            plan = operations.create_plan(
                db.session, slug=form.slug.data, actor=current_user, **_plan_fields(form)
            )
        if attempt.done:
            flash(_("Plan created. Now import its text."), "success")
            return redirect(url_for("plans.import_text", slug=plan.slug))
    return render_template("plans/plan_form.html", form=form, plan=None)


@bp.route("/<slug>/settings", methods=["GET", "POST"])
@require(can_manage_plans)
def edit_plan(slug: str):
    plan = _plan(slug)
    form = PlanForm(obj=plan)
    if request.method == "GET":
        form.audience.data = plan.audience.value
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.update_plan(db.session, plan, actor=current_user, **_plan_fields(form))
        if attempt.done:
            flash(_("Changes saved."), "success")
            return redirect(url_for("plans.show_plan", slug=plan.slug))
    return render_template("plans/plan_form.html", form=form, plan=plan)


@bp.post("/<slug>/v<int:number>/successor")
@require(can_manage_plans)
def start_successor(slug: str, number: int):
    version = _version(slug, number)
    form = LabelForm()
    if not form.validate_on_submit():
        flash(_("Give the new version a label."), "danger")
        return redirect(url_for("plans.show_plan", slug=slug))
    with commit_or_refuse() as attempt:
        successor = operations.create_successor(
            db.session, version, label=form.label.data, actor=current_user
        )
    if not attempt.done:
        return redirect(url_for("plans.show_plan", slug=slug))
    flash(_("New draft created: every section and paragraph was carried over."), "success")
    return _to_version(successor)


#: What freezing and adopting ask before they happen (see app.core.confirm).
_TRANSITION_QUESTIONS = {
    "freeze": lambda version: {
        "title": _("Freeze version %(n)d, “%(label)s”?", n=version.number, label=version.label),
        "consequence": _(
            "Once frozen, the text of this version can never be changed again: consultations, "
            "observations and decisions point to it as it is now. Further changes go into a "
            "new version."
        ),
        "confirm_label": _("Freeze the version"),
    },
    "adopt": lambda version: {
        "title": _(
            "Mark version %(n)d, “%(label)s”, as adopted?", n=version.number, label=version.label
        ),
        "consequence": _(
            "The version becomes the plan as adopted; it cannot go back to being a frozen "
            "draft, and no consultation can be opened on it."
        ),
        "confirm_label": _("Mark as adopted"),
    },
}


@bp.post("/<slug>/v<int:number>/state")
@require(can_manage_plans)
def change_state(slug: str, number: int):
    version = _version(slug, number)
    transitions = {"freeze": operations.freeze_version, "adopt": operations.adopt_version}
    name = request.form.get("transition", "")
    transition = transitions.get(name)
    if transition is None:
        abort(400)
    if page := ask_first(
        cancel_url=url_for("plans.show_plan", slug=slug), **_TRANSITION_QUESTIONS[name](version)
    ):
        return page
    with commit_or_refuse() as attempt:
        transition(db.session, version, actor=current_user)
    if attempt.done:
        flash(
            _("The version is now %(status)s.", status=STATUS_LABELS[version.status.value]),
            "success",
        )
    return redirect(url_for("plans.show_plan", slug=slug))
