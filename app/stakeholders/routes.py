"""The registry's pages (staff: administrators and moderators) and the public page where an
invited referent accepts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from app.accounts.models import User
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.permissions import can_manage_registry, require
from app.core.security import public
from app.core.templating import add_nav_item
from app.extensions import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.stakeholders import imports, operations
from app.stakeholders.csvfiles import MAX_CSV_BYTES, CsvError, decode
from app.stakeholders.forms import (
    AcceptInvitationForm,
    ApplyImportForm,
    BulkInviteForm,
    ImportForm,
    InvitationFilterForm,
    InviteForm,
    NamedForm,
    OrganisationForm,
    OrganisationSearchForm,
)
from app.stakeholders.labels import ACTION_LABELS, CHANNEL_LABELS, KIND_LABELS, STATUS_LABELS
from app.stakeholders.models import (
    Group,
    Invitation,
    InvitationState,
    InvitationStatus,
    Organisation,
    OrganisationKind,
    Zone,
    group_memberships,
)

bp = Blueprint("stakeholders", __name__)
add_nav_item(
    "stakeholders.list_organisations", _l("Registry"), can_manage_registry, prefix="stakeholders"
)

PAGE_SIZE = 50


@bp.app_template_filter("kind_label")
def kind_label(kind) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_filter("invitation_status_label")
def invitation_status_label(status) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("import_action_label")
def import_action_label(action) -> str:
    return str(ACTION_LABELS.get(action, action))


def _form_error(form, error: operations.RegistryError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        flash(str(error.message), "danger")


def _commit(change, form=None) -> tuple[bool, object]:
    """Run ``change`` (an operation) and commit once; on a refusal roll back and say why, on
    the form's field when there is one, else as a message. Returns (done, what it returned)."""
    try:
        result = change()
    except operations.RegistryError as error:
        db.session.rollback()
        if form is not None:
            _form_error(form, error)
        else:
            flash(str(error.message), "danger")
        return False, None
    db.session.commit()
    return True, result


def _zone_choices(none_label) -> list[SelectChoice]:
    zones = db.session.execute(select(Zone.id, Zone.name).order_by(Zone.name)).all()
    return [SelectChoice(0, none_label), *[SelectChoice(z.id, z.name) for z in zones]]


def _group_choices() -> list[SelectChoice]:
    groups = db.session.execute(select(Group.id, Group.name).order_by(Group.name)).all()
    return [SelectChoice(g.id, g.name) for g in groups]


# Organisations -----------------------------------------------------------------------------


@bp.get("/registry/")
@require(can_manage_registry)
def list_organisations():
    search = OrganisationSearchForm(request.args)
    search.zone.choices = _zone_choices(_("All zones"))
    search.group.choices = [SelectChoice(0, _("All groups")), *_group_choices()]
    query = select(Organisation).options(joinedload(Organisation.zone))
    if search.validate():
        if search.q.data and search.q.data.strip():
            term = search.q.data.strip().lower()
            query = query.where(
                or_(
                    func.lower(Organisation.name).contains(term, autoescape=True),
                    Organisation.istat_code == term,
                )
            )
        if search.kind.data:
            query = query.where(Organisation.kind == OrganisationKind(search.kind.data))
        if search.zone.data:
            query = query.where(Organisation.zone_id == search.zone.data)
        if search.group.data:
            query = query.where(
                Organisation.id.in_(
                    select(group_memberships.c.organisation_id).where(
                        group_memberships.c.group_id == search.group.data
                    )
                )
            )
    page = db.paginate(
        query.order_by(func.lower(Organisation.name), Organisation.id),
        per_page=PAGE_SIZE,
        error_out=False,
        count=True,
    )
    ids = [organisation.id for organisation in page.items]
    referents = dict(
        db.session.execute(
            select(User.organisation_id, func.count(User.id))
            .where(User.organisation_id.in_(ids), User.active)
            .group_by(User.organisation_id)
        ).all()
    )
    groups: dict[int, list[str]] = {}
    for row in db.session.execute(
        select(group_memberships.c.organisation_id, Group.name)
        .join(Group, Group.id == group_memberships.c.group_id)
        .where(group_memberships.c.organisation_id.in_(ids))
        .order_by(Group.name)
    ):
        groups.setdefault(row.organisation_id, []).append(row.name)
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
        done, organisation = _commit(
            lambda: operations.create_organisation(
                db.session, _organisation_data(form), actor=current_user
            ),
            form,
        )
        if done:
            flash(_("Organisation created."), "success")
            return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))
    return render_template("stakeholders/organisation_form.html", form=form, organisation=None)


@bp.route("/registry/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@require(can_manage_registry)
def edit_organisation(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    form = _organisation_form(organisation)
    if form.validate_on_submit():
        done, changes = _commit(
            lambda: operations.update_organisation(
                db.session, organisation, _organisation_data(form), actor=current_user
            ),
            form,
        )
        if done:
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


@bp.route("/registry/organisations/<int:organisation_id>/invite", methods=["GET", "POST"])
@require(can_manage_registry)
def invite(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    form = InviteForm()
    if form.validate_on_submit():
        done, invitation = _commit(
            lambda: operations.invite_referent(
                db.session,
                organisation,
                form.email.data,
                display_name=form.display_name.data,
                actor=current_user,
            ),
            form,
        )
        if done:
            flash(
                _("An invitation was sent to %(email)s.", email=invitation.email)
                if invitation.send_count == 1
                else _(
                    "%(email)s had already been invited: a new link was sent, the previous one "
                    "no longer works.",
                    email=invitation.email,
                ),
                "success",
            )
            return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))
    return render_template("stakeholders/invite.html", form=form, organisation=organisation)


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
    done, _result = _commit(
        lambda: operations.set_primary_referent(db.session, organisation, user, actor=current_user)
    )
    if done:
        flash(_("%(name)s is now the main contact.", name=user.display_name), "success")
    return redirect(url_for("stakeholders.organisation", organisation_id=organisation.id))


@bp.post("/registry/organisations/<int:organisation_id>/referents/<int:user_id>/active")
@require(can_manage_registry)
def set_referent_active(organisation_id: int, user_id: int):
    organisation, user = _referent(organisation_id, user_id)
    active = request.form.get("active") == "1"
    done, _result = _commit(
        lambda: operations.set_referent_active(
            db.session, organisation, user, active, actor=current_user
        )
    )
    if done:
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


# Invitations -------------------------------------------------------------------------------


def _status_condition(status: InvitationStatus, now):
    bounced = OutboxMessage.status == OutboxStatus.FAILED
    not_bounced = or_(OutboxMessage.id.is_(None), OutboxMessage.status != OutboxStatus.FAILED)
    pending = Invitation.state == InvitationState.PENDING
    return {
        InvitationStatus.ACCEPTED: Invitation.state == InvitationState.ACCEPTED,
        InvitationStatus.REVOKED: Invitation.state == InvitationState.REVOKED,
        InvitationStatus.BOUNCED: and_(pending, bounced),
        InvitationStatus.EXPIRED: and_(pending, not_bounced, Invitation.expires_at <= now),
        InvitationStatus.INVITED: and_(pending, not_bounced, Invitation.expires_at > now),
    }[status]


@bp.get("/registry/invitations")
@require(can_manage_registry)
def list_invitations():
    filters = InvitationFilterForm(request.args)
    now = utcnow()
    query = (
        select(Invitation)
        .outerjoin(OutboxMessage, Invitation.outbox_message_id == OutboxMessage.id)
        .options(
            joinedload(Invitation.organisation),
            joinedload(Invitation.outbox_message),
            joinedload(Invitation.user),
        )
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
    )
    if filters.validate() and filters.status.data:
        query = query.where(_status_condition(InvitationStatus(filters.status.data), now))
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False, count=True)
    return render_template(
        "stakeholders/invitations.html",
        page=page,
        filters=filters,
        now=now,
        status=filters.status.data or None,
    )


def _back_to(invitation: Invitation):
    if request.form.get("next") == "organisation":
        return redirect(
            url_for("stakeholders.organisation", organisation_id=invitation.organisation_id)
        )
    return redirect(url_for("stakeholders.list_invitations"))


@bp.post("/registry/invitations/<int:invitation_id>/resend")
@require(can_manage_registry)
def resend_invitation(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    done, _result = _commit(
        lambda: operations.resend_invitation(db.session, invitation, actor=current_user)
    )
    if done:
        flash(
            _(
                "A new invitation was sent to %(email)s; the previous link no longer works.",
                email=invitation.email,
            ),
            "success",
        )
    return _back_to(invitation)


@bp.post("/registry/invitations/<int:invitation_id>/revoke")
@require(can_manage_registry)
def revoke_invitation(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    done, _result = _commit(
        lambda: operations.revoke_invitation(db.session, invitation, actor=current_user)
    )
    if done:
        flash(_("The invitation to %(email)s was revoked.", email=invitation.email), "success")
    return _back_to(invitation)


def _bulk_targets() -> list[SelectChoice]:
    zones = db.session.execute(select(Zone.id, Zone.name).order_by(Zone.name)).all()
    groups = db.session.execute(select(Group.id, Group.name).order_by(Group.name)).all()
    return [
        *[SelectChoice(f"group:{g.id}", g.name) for g in groups],
        *[SelectChoice(f"zone:{z.id}", _("Zona omogenea %(name)s", name=z.name)) for z in zones],
    ]


def _bulk_target(value: str) -> tuple[Zone | None, Group | None]:
    kind, _sep, number = value.partition(":")
    model = {"zone": Zone, "group": Group}.get(kind)
    if model is None or not number.isdigit():
        abort(400)
    target = db.get_or_404(model, int(number))
    return (target, None) if model is Zone else (None, target)


@bp.route("/registry/invitations/bulk", methods=["GET", "POST"])
@require(can_manage_registry)
def bulk_invite():
    form = BulkInviteForm()
    form.target.choices = _bulk_targets()
    plan = None
    target_name = None
    if form.validate_on_submit():
        zone, group = _bulk_target(form.target.data)
        target_name = (zone or group).name
        organisations = operations.organisations_of(db.session, zone=zone, group=group)
        plan = operations.bulk_invite(
            db.session,
            organisations,
            operations.Channel(form.channel.data),
            actor=current_user,
            apply=form.confirm.data == "1",
        )
        if plan.applied:
            db.session.commit()
            flash(
                _(
                    "%(sent)d invitations sent; %(skipped)d organisations skipped.",
                    sent=len(plan.to_invite),
                    skipped=len(plan.skipped),
                ),
                "success",
            )
            return redirect(url_for("stakeholders.list_invitations"))
        db.session.rollback()
    return render_template(
        "stakeholders/bulk_invite.html",
        form=form,
        plan=plan,
        target_name=target_name,
        channel_labels=CHANNEL_LABELS,
    )


# Zones and groups --------------------------------------------------------------------------

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
    if model is Zone:
        counted = select(Zone, func.count(Organisation.id)).outerjoin(
            Organisation, Organisation.zone_id == Zone.id
        )
    else:
        counted = select(Group, func.count(group_memberships.c.organisation_id)).outerjoin(
            group_memberships, group_memberships.c.group_id == Group.id
        )
    rows = db.session.execute(counted.group_by(model.id).order_by(model.name)).all()
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
        done, saved = _commit(
            lambda: save(
                db.session,
                item,
                name=form.name.data,
                description=form.description.data,
                actor=current_user,
            ),
            form,
        )
        if done:
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


# CSV imports -------------------------------------------------------------------------------

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
    if apply_form.content.data and apply_form.validate_on_submit():
        raw = apply_form.content.data.encode("utf-8")
        plan = IMPORTERS[what](db.session, raw, actor=current_user, apply=True)
        if plan.applied:
            db.session.commit()
            flash(
                _(
                    "Import done: %(create)d created, %(update)d updated, %(unchanged)d unchanged.",
                    **plan.counts,
                ),
                "success",
            )
            return redirect(url_for("stakeholders.list_organisations"))
        db.session.rollback()
        content = apply_form.content.data
    elif upload.validate_on_submit():
        raw = upload.file.data.read(MAX_CSV_BYTES + 1)
        plan = IMPORTERS[what](db.session, raw, actor=current_user, apply=False)
        db.session.rollback()
        if plan.ok:
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


# Accepting an invitation (public) ----------------------------------------------------------


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    invitation = operations.find_invitation(db.session, token)
    if invitation is None:
        return render_template("stakeholders/invitation_invalid.html", reason="unknown"), 404
    if not invitation.is_usable():
        reason = {
            InvitationState.ACCEPTED: "used",
            InvitationState.REVOKED: "revoked",
        }.get(invitation.state, "expired")
        return render_template(
            "stakeholders/invitation_invalid.html", reason=reason, invitation=invitation
        ), 410
    existing = db.session.scalar(select(User).where(User.email == invitation.email))
    form = AcceptInvitationForm()
    if request.method == "GET" and existing is None:
        form.display_name.data = invitation.display_name
    if form.validate_on_submit():
        done, _user = _commit(
            lambda: operations.accept_invitation(
                db.session, token, password=form.password.data, display_name=form.display_name.data
            ),
            form,
        )
        if done:
            if current_user.is_authenticated:
                logout_user()
            flash(
                _(
                    "Welcome: you now speak for %(name)s. Log in with your e-mail address and "
                    "the password you chose.",
                    name=invitation.organisation.name,
                ),
                "success",
            )
            return redirect(url_for("accounts.login"))
    return render_template(
        "stakeholders/accept.html", form=form, invitation=invitation, existing=existing
    )
