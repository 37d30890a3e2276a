from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.operations import normalise_email
from app.api import operations
from app.api.forms import NewTokenForm
from app.api.models import ApiToken
from app.api.openapi import document
from app.api.views import api_view, authenticate_request
from app.core.confirm import ask_first
from app.core.permissions import is_admin, require
from app.core.security import is_public_endpoint, public
from app.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies: every request carries its token

admin_bp = Blueprint("admin_api_tokens", __name__, url_prefix="/admin/api-tokens")

PAGE_SIZE = 50


@bp.before_request
def _authenticate():
    """Deny by default here too: every API endpoint needs a token unless marked @public."""
    if not is_public_endpoint(current_app, request.endpoint):
        authenticate_request()


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(document())


@bp.get("/me")
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
@require(is_admin)
def tokens():
    form = NewTokenForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == normalise_email(form.email.data)))
        if user is None:
            form.email.errors = [*form.email.errors, _("No account has this e-mail address.")]
        else:
            try:
                token, secret = operations.create_token(
                    db.session, user=user, name=form.name.data, actor=current_user
                )
            except operations.TokenError as error:
                db.session.rollback()
                form.email.errors = [*form.email.errors, str(error.message)]
            else:
                db.session.commit()
                # Shown in this response only: never in a flash message (the session cookie is
                # signed, not encrypted) and never again.
                return render_template("api/token_created.html", token=token, secret=secret)
    page = db.paginate(
        select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc()),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    return render_template("api/tokens.html", form=form, page=page)


@admin_bp.post("/<int:token_id>/revoke")
@require(is_admin)
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
    operations.revoke_token(db.session, token, actor=current_user)
    db.session.commit()
    flash(_("The token %(name)s has been revoked.", name=token.name), "success")
    return redirect(url_for("admin_api_tokens.tokens"))


# The consultation endpoints register themselves on ``bp``.
from app.api import consultations  # noqa: E402, F401
