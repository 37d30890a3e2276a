"""Inviting referents (one, or every organisation of a zone or group), the invitations list,
resending and revoking, and the public page where an invited referent accepts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from wtforms.fields.choices import SelectChoice

from app.accounts.queries import by_email
from app.core.confirm import ask_first
from app.core.db import utcnow
from app.core.pagination import paginate
from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.core.security import public
from app.extensions import db
from app.stakeholders import operations, queries
from app.stakeholders.forms import (
    AcceptInvitationForm,
    BulkInviteForm,
    InvitationFilterForm,
    InviteForm,
)
from app.stakeholders.labels import CHANNEL_LABELS
from app.stakeholders.models import (
    Group,
    Invitation,
    InvitationState,
    InvitationStatus,
    Organisation,
    Zone,
)
from app.stakeholders.permissions import can_manage_registry
from app.stakeholders.routes.common import PAGE_SIZE, bp


@bp.route("/registry/organisations/<int:organisation_id>/invite", methods=["GET", "POST"])
@require(can_manage_registry)
def invite(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    form = InviteForm()
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            invitation = operations.invite_referent(
                db.session,
                organisation,
                form.email.data,
                display_name=form.display_name.data,
                actor=current_user,
            )
        if attempt.done:
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


@bp.get("/registry/invitations")
@require(can_manage_registry)
def list_invitations():
    filters = InvitationFilterForm(request.args)
    now = utcnow()
    status = None
    if filters.validate() and filters.status.data:
        status = InvitationStatus(filters.status.data)
    page = paginate(queries.invitations(status, now), per_page=PAGE_SIZE)
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
    with commit_or_refuse() as attempt:
        operations.resend_invitation(db.session, invitation, actor=current_user)
    if attempt.done:
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
    if page := ask_first(
        title=_("Revoke the invitation to %(email)s?", email=invitation.email),
        consequence=_(
            "The link in the invitation stops working for good; to invite this address again, "
            "send a new invitation."
        ),
        confirm_label=_("Revoke the invitation"),
        cancel_url=_back_to(invitation).location,
    ):
        return page
    with commit_or_refuse() as attempt:
        operations.revoke_invitation(db.session, invitation, actor=current_user)
    if attempt.done:
        flash(_("The invitation to %(email)s was revoked.", email=invitation.email), "success")
    return _back_to(invitation)


def _bulk_targets() -> list[SelectChoice]:
    return [
        *[SelectChoice(f"group:{g.id}", g.name) for g in queries.names(Group)],
        *[
            SelectChoice(f"zone:{z.id}", _("Zona omogenea %(name)s", name=z.name))
            for z in queries.names(Zone)
        ],
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
        with commit_or_refuse() as attempt:
            plan = operations.bulk_invite(
                db.session,
                organisations,
                operations.Channel(form.channel.data),
                actor=current_user,
                apply=form.confirm.data == "1",
            )
            if not plan.applied:
                attempt.discard()  # the preview, or problems found: nothing is written
        if attempt.done:
            flash(
                _(
                    "%(sent)d invitations sent; %(skipped)d organisations skipped.",
                    sent=len(plan.to_invite),
                    skipped=len(plan.skipped),
                ),
                "success",
            )
            return redirect(url_for("stakeholders.list_invitations"))
    return render_template(
        "stakeholders/bulk_invite.html",
        form=form,
        plan=plan,
        target_name=target_name,
        channel_labels=CHANNEL_LABELS,
    )


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
    existing = by_email(invitation.email)
    form = AcceptInvitationForm()
    if request.method == "GET" and existing is None:
        form.display_name.data = invitation.display_name
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.accept_invitation(
                db.session, token, password=form.password.data, display_name=form.display_name.data
            )
        if attempt.done:
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
