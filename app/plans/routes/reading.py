"""Reading plans: the list, a plan's page, a version's text, permalinks and the diff."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import load_only

from app.core.permissions import anyone, require
from app.core.security import public
from app.extensions import db
from app.plans.changes import ReadingChanges, annotations, attach_stored, reading_changes
from app.plans.diff import NotRelated, compare
from app.plans.forms import AUDIENCE_LABELS, DiffForm, LabelForm
from app.plans.models import Plan, PlanImport, PlanVersion
from app.plans.permissions import can_manage_plans, can_read_version, can_see_plan
from app.plans.queries import PLAN, VERSION
from app.plans.routes.common import ONE_PAGE_PARAGRAPHS, bp
from app.plans.tree import load_text, load_tree


@bp.get("/")
@public
def index():
    plans = db.session.scalars(select(Plan).order_by(Plan.title)).all()
    visible = [plan for plan in plans if can_see_plan(current_user, plan)]
    return render_template("plans/index.html", plans=visible)


@bp.get("/<slug>/")
@public
@require(anyone, load=PLAN, allowed=can_see_plan)
def show_plan(plan: Plan):
    versions = [v for v in plan.versions if can_read_version(current_user, v)]
    pending = []
    if can_manage_plans(current_user):
        pending = db.session.scalars(
            select(PlanImport)
            .where(PlanImport.plan_id == plan.id)
            .order_by(PlanImport.id)
            .options(load_only(PlanImport.label, PlanImport.filename))  # not the structure
        ).all()
    return render_template(
        "plans/plan.html",
        plan=plan,
        versions=versions,
        pending=pending,
        label_form=LabelForm(),
        audience_labels=AUDIENCE_LABELS,
    )


# Reading -----------------------------------------------------------------------------------


def _address(version: PlanVersion) -> dict:
    return {"slug": version.plan.slug, "number": version.number}


def _why_changed(version: PlanVersion, tree, nodes, *, page: bool) -> dict:
    """The stored changes a successor's reading page shows — under its paragraphs, where
    paragraphs were removed, at section headings, removed sections at the end of their
    parent — with their reasons ("Perché è cambiato?") and the comparison they are numbered
    on. Only the reasons of the changes the page shows (``nodes``; ``page``: the version's own
    page, which also lists removed top-level sections) are read: a section's page does not read
    the points of every change of the plan."""
    if version.predecessor_id is None:
        return {"changes": ReadingChanges(), "reasons": {}, "diff_url": None}
    changes = reading_changes(db.session, version, tree)
    return {
        "changes": changes,
        "reasons": annotations(db.session, changes.ids_within(nodes, page=page)),
        "diff_url": url_for(
            "plans.diff",
            slug=version.plan.slug,
            old=version.predecessor.number,
            new=version.number,
        ),
    }


@bp.get("/<slug>/v<int:number>/")
@public
@require(anyone, load=VERSION, allowed=can_read_version)
def read_version(version: PlanVersion):
    tree = load_tree(db.session, version)
    whole = tree.paragraph_count <= ONE_PAGE_PARAGRAPHS
    return render_template(
        "plans/read.html",
        version=version,
        plan=version.plan,
        tree=tree,
        nodes=tree.roots if whole else [],
        whole=whole,
        **_why_changed(version, tree, tree.roots if whole else [], page=True),
    )


@bp.get("/<slug>/v<int:number>/s/<key>")
@public
@require(anyone, load=VERSION, allowed=can_read_version)
def read_section(version: PlanVersion, key: str):
    tree = load_tree(db.session, version, text=False)
    node = tree.node_by_key(key)
    if node is None:
        abort(404)
    if node.depth > 1:  # subsections are read on their top-level section's page
        top = node
        while top.section.parent_id is not None:
            top = tree.nodes[top.section.parent_id]
        return redirect(
            url_for("plans.read_section", **_address(version), key=top.section.key) + f"#s-{key}"
        )
    index = tree.roots.index(node)
    load_text(db.session, node.walk())  # the text of this section only
    return render_template(
        "plans/read.html",
        version=version,
        plan=version.plan,
        tree=tree,
        nodes=[node],
        whole=False,
        previous=tree.roots[index - 1] if index > 0 else None,
        following=tree.roots[index + 1] if index + 1 < len(tree.roots) else None,
        **_why_changed(version, tree, [node], page=False),
    )


@bp.get("/<slug>/v<int:number>/p/<key>")
@public
@require(anyone, load=VERSION, allowed=can_read_version)
def paragraph_link(version: PlanVersion, key: str):
    """A paragraph's permalink: its place on the reading page, whichever page that is."""
    tree = load_tree(db.session, version, text=False)
    found = tree.paragraph_by_key(key)
    if found is None:
        abort(404)
    node = found[0]
    if tree.paragraph_count <= ONE_PAGE_PARAGRAPHS:
        return redirect(url_for("plans.read_version", **_address(version)) + f"#p-{key}")
    while node.section.parent_id is not None:
        node = tree.nodes[node.section.parent_id]
    return redirect(
        url_for("plans.read_section", **_address(version), key=node.section.key) + f"#p-{key}"
    )


@bp.get("/<slug>/diff")
@public
@require(anyone, load=PLAN, allowed=can_see_plan)
def diff(plan: Plan):
    versions = [v for v in plan.versions if can_read_version(current_user, v)]
    form = DiffForm(request.args)
    result = None
    if request.args and form.validate():
        by_number = {v.number: v for v in versions}
        old, new = by_number.get(form.old.data), by_number.get(form.new.data)
        if old is None or new is None:
            form.new.errors = [_("Choose two versions of this plan that you can read.")]
        elif old.number == new.number:
            form.new.errors = [_("Choose two different versions.")]
        else:
            if old.number > new.number:
                old, new = new, old
            try:
                result = compare(db.session, old, new)
            except NotRelated:
                form.new.errors = [
                    _(
                        "These two versions do not descend from one another: they cannot be "
                        "compared."
                    )
                ]
    elif not request.args and len(versions) >= 2:
        latest = versions[-1]
        previous = next((v for v in versions if v.id == latest.predecessor_id), None)
        if previous is not None:
            return redirect(
                url_for("plans.diff", slug=plan.slug, old=previous.number, new=latest.number)
            )
    stored = attach_stored(db.session, result) if result is not None else {}
    status = 400 if form.errors else 200
    return render_template(
        "plans/diff.html",
        plan=plan,
        versions=versions,
        form=form,
        result=result,
        reasons=annotations(db.session, stored),
    ), status
