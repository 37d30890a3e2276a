"""Organisations: the searchable list, creating and editing one, its page, its referents."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from app.accounts.models import User
from app.core.db import utcnow
from app.core.pagination import paginate
from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.stakeholders import operations, queries
from app.stakeholders.forms import InviteForm, OrganisationForm, OrganisationSearchForm
from app.stakeholders.models import (
    Group,
    Invitation,
    Organisation,
    OrganisationKind,
    Zone,
)
from app.stakeholders.permissions import can_manage_registry
from app.stakeholders.routes.common import PAGE_SIZE, _group_choices, _zone_choices, bp


@bp.get("/registry/")
@require(can_manage_registry)
def list_organisations():
    search = OrganisationSearchForm(request.args)
    search.zone.choices = _zone_choices(_("All zones"))
    search.group.choices = [SelectChoice(0, _("All groups")), *_group_choices()]
    chosen = queries.OrganisationFilters()
    if search.validate():
        chosen = queries.OrganisationFilters(
            text=search.q.data or "",
            kind=OrganisationKind(search.kind.data) if search.kind.data else None,
            zone_id=search.zone.data or None,
            group_id=search.group.data or None,
        )
    page = paginate(queries.organisations(chosen), per_page=PAGE_SIZE)
    ids = [organisation.id for organisation in page.items]
    referents = queries.active_referent_counts(ids)
    groups = queries.group_names(ids)
    filters = {
        key: value
        for key, value in request.args.items()
        if key in ("q", "kind", "zone", "group") and value
    }
    return render_template(
        "stakeholders/organisations.html",
        page=page,
        search=search,
        referents=referents,
        groups=groups,
        filters=filters,
    )


def _organisation_form(organisation: Organisation | None) -> OrganisationForm:
    form = OrganisationForm(obj=organisation)
    form.zone_id.choices = _zone_choices(_("— none —"))
    form.groups.choices = _group_choices()
    if request.method == "GET" and organisation is not None:
        form.kind.data = organisation.kind.value
        form.zone_id.data = organisation.zone_id or 0
        form.groups.data = [group.id for group in organisation.groups]
    return form


def _organisation_data(form: OrganisationForm) -> operations.OrganisationData:
    zone = db.session.get(Zone, form.zone_id.data) if form.zone_id.data else None
    chosen = set(form.groups.data or [])
    groups = list(db.session.scalars(select(Group).where(Group.id.in_(chosen)))) if chosen else []
    return operations.OrganisationData(
        name=form.name.data,
        kind=OrganisationKind(form.kind.data),
        istat_code=form.istat_code.data,
        zone=zone,
        pec=form.pec.data,
        email=form.email.data,
        website=form.website.data,
        active=form.active.data,
        groups=groups,
    )


@bp.route("/registry/organisations/new", methods=["GET", "POST"])
@require(can_manage_registry)
def new_organisation():
    form = _organisation_form(None)
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            organisation = operations.create_organisation(
                db.session, _organisation_data(form), actor=current_user
            )
        if attempt.done:
            flash(_("Organisation created."), "success")
            return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))
    return render_template("stakeholders/organisation_form.html", form=form, organisation=None)


@bp.route("/registry/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@require(can_manage_registry)
def edit_organisation(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    form = _organisation_form(organisation)
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            changes = operations.update_organisation(
                db.session, organisation, _organisation_data(form), actor=current_user
            )
        if attempt.done:
            flash(_("Changes saved.") if changes else _("Nothing was changed."), "success")
            return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))
    return render_template(
        "stakeholders/organisation_form.html", form=form, organisation=organisation
    )


@bp.get("/registry/organisations/<int:organisation_id>")
@require(can_manage_registry)
def organisation(organisation_id: int):
    organisation = db.session.scalar(
        select(Organisation)
        .where(Organisation.id == organisation_id)
        .options(
            joinedload(Organisation.zone),
            selectinload(Organisation.groups),
            selectinload(Organisation.referents),
            selectinload(Organisation.invitations).joinedload(Invitation.outbox_message),
        )
    )
    if organisation is None:
        abort(404)
    return render_template(
        "stakeholders/organisation.html",
        organisation=organisation,
        invite_form=InviteForm(),
        now=utcnow(),
    )


def _referent(organisation_id: int, user_id: int) -> tuple[Organisation, User]:
    organisation = db.get_or_404(Organisation, organisation_id)
    user = db.get_or_404(User, user_id)
    if user.organisation_id != organisation.id:
        abort(404)
    return organisation, user


@bp.post("/registry/organisations/<int:organisation_id>/referents/<int:user_id>/primary")
@require(can_manage_registry)
def set_primary(organisation_id: int, user_id: int):
    organisation, user = _referent(organisation_id, user_id)
    with commit_or_refuse() as attempt:
        operations.set_primary_referent(db.session, organisation, user, actor=current_user)
    if attempt.done:
        flash(_("%(name)s is now the main contact.", name=user.display_name), "success")
    return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))


@bp.post("/registry/organisations/<int:organisation_id>/referents/<int:user_id>/active")
@require(can_manage_registry)
def set_referent_active(organisation_id: int, user_id: int):
    organisation, user = _referent(organisation_id, user_id)
    active = request.form.get("active") == "1"
    with commit_or_refuse() as attempt:
        operations.set_referent_active(db.session, organisation, user, active, actor=current_user)
    if attempt.done:
        flash(
            _("%(name)s can speak for the organisation again.", name=user.display_name)
            if active
            else _(
                "%(name)s was deactivated: they can no longer log in; what they submitted keeps "
                "their name.",
                name=user.display_name,
            ),
            "success",
        )
    return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))
