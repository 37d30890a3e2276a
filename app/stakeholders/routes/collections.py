"""Zone omogenee and groups (Tavoli): their lists, with counts, and their forms."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.stakeholders import operations, queries
from app.stakeholders.forms import NamedForm
from app.stakeholders.models import Group, Organisation, Zone
from app.stakeholders.permissions import can_manage_registry
from app.stakeholders.routes.common import bp

COLLECTIONS = {
    "zones": (Zone, operations.save_zone),
    "groups": (Group, operations.save_group),
}


@bp.get("/registry/zones")
@require(can_manage_registry)
def list_zones():
    return _list_collection("zones")


@bp.get("/registry/groups")
@require(can_manage_registry)
def list_groups():
    return _list_collection("groups")


def _list_collection(collection: str):
    model, _save = COLLECTIONS[collection]
    rows = queries.with_member_counts(model)
    return render_template("stakeholders/collections.html", collection=collection, rows=rows)


@bp.route("/registry/zones/new", methods=["GET", "POST"])
@bp.route("/registry/zones/<int:item_id>", methods=["GET", "POST"])
@require(can_manage_registry)
def zone(item_id: int | None = None):
    return _edit_collection("zones", item_id)


@bp.route("/registry/groups/new", methods=["GET", "POST"])
@bp.route("/registry/groups/<int:item_id>", methods=["GET", "POST"])
@require(can_manage_registry)
def group(item_id: int | None = None):
    return _edit_collection("groups", item_id)


def _edit_collection(collection: str, item_id: int | None):
    model, save = COLLECTIONS[collection]
    item = None
    if item_id is not None:
        relation = model.comuni if model is Zone else model.organisations
        item = db.session.scalar(
            select(model)
            .where(model.id == item_id)
            .options(selectinload(relation).joinedload(Organisation.zone))
        )
        if item is None:
            abort(404)
    form = NamedForm(obj=item)
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            saved = save(
                db.session,
                item,
                name=form.name.data,
                description=form.description.data,
                actor=current_user,
            )
        if attempt.done:
            flash(_("Changes saved."), "success")
            return redirect(url_for(f"stakeholders.{collection[:-1]}", item_id=saved.id))
    members = [] if item is None else (item.comuni if model is Zone else item.organisations)
    return render_template(
        "stakeholders/collection_form.html",
        collection=collection,
        item=item,
        form=form,
        members=members,
    )
