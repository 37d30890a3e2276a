"""The API's own endpoints (the OpenAPI document, ``/me``) and the administration of tokens;
the consultation endpoints are in :mod:`app.api.consultations`, on the same blueprint."""

from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.operations import normalise_email
from app.accounts.queries import by_email
from app.api import operations, queries
from app.api.blueprints import admin_bp, bp
from app.api.forms import NewTokenForm
from app.api.models import ApiToken
from app.api.openapi import document
from app.api.permissions import can_manage_tokens, can_use_api
from app.api.views import api_view
from app.core.confirm import ask_first
from app.core.pagination import paginate
from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.core.security import public
from app.extensions import db

PAGE_SIZE = 50


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(document())


@bp.get("/me")
@require(can_use_api)
@api_view
def me():
    user = g.api_token.user
    organisation = user.organisation
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "roles": sorted(user.roles),
        "organisation": (
            {"id": organisation.id, "name": organisation.name, "kind": organisation.kind.value}
            if organisation
            else None
        ),
    }, 200


# Administration of tokens ------------------------------------------------------------------


@admin_bp.route("/", methods=["GET", "POST"])
@require(can_manage_tokens)
def tokens():
    form = NewTokenForm()
    if form.validate_on_submit():
        user = by_email(normalise_email(form.email.data))
        if user is None:
            form.email.errors = [*form.email.errors, _("No account has this e-mail address.")]
        else:
            with commit_or_refuse(form, field="email") as attempt:
                token, secret = operations.create_token(
                    db.session, user=user, name=form.name.data, actor=current_user
                )
            if attempt.done:
                # Shown in this response only: never in a flash message (the session cookie is
                # signed, not encrypted) and never again.
                return render_template("api/token_created.html", token=token, secret=secret)
    page = paginate(queries.tokens(), per_page=PAGE_SIZE)
    return render_template("api/tokens.html", form=form, page=page)


@admin_bp.post("/<int:token_id>/revoke")
@require(can_manage_tokens)
def revoke(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    if page := ask_first(
        title=_("Revoke the token %(name)s?", name=token.name),
        consequence=_(
            "Every integration that uses this token is refused from now on; a revoked token "
            "cannot be reactivated (create a new one instead)."
        ),
        confirm_label=_("Revoke the token"),
        cancel_url=url_for("admin_api_tokens.tokens"),
    ):
        return page
    with commit_or_refuse():
        operations.revoke_token(db.session, token, actor=current_user)
    flash(_("The token %(name)s has been revoked.", name=token.name), "success")
    return redirect(url_for("admin_api_tokens.tokens"))
