from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from app.accounts import operations
from app.accounts.forms import (
    ROLE_LABELS,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewUserForm,
    SetPasswordForm,
    UserForm,
    UserSearchForm,
)
from app.accounts.models import Role, User
from app.core.audit import AuditEntry
from app.core.permissions import is_admin, require
from app.core.refusals import show_refusal
from app.core.security import public
from app.core.urls import safe_next_url
from app.extensions import db
from app.stakeholders.models import Organisation

bp = Blueprint("accounts", __name__)
admin_bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")

PAGE_SIZE = 50


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")) or url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        outcome = operations.authenticate(db.session, form.email.data, form.password.data)
        if outcome.user is not None:
            operations.start_session(db.session, outcome.user)
        db.session.commit()
        if outcome.user is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session on login: nothing carried over from before
            if lang:
                session["lang"] = lang
            login_user(outcome.user)
            return redirect(safe_next_url(request.args.get("next")) or url_for("core.home"))
        if outcome.throttled:
            status = 429
            flash(
                _(
                    "Too many failed attempts for this account. Please wait %(minutes)d minutes "
                    "or reset your password.",
                    minutes=current_app.config["LOGIN_THROTTLE_WINDOW"] // 60,
                ),
                "danger",
            )
        else:
            status = 401
            flash(_("E-mail address or password not correct."), "danger")
    elif request.method == "POST":
        status = 400
    headers = {}
    if status == 429:  # the window counts from the first attempt: at most this long
        headers["Retry-After"] = str(current_app.config["LOGIN_THROTTLE_WINDOW"])
    return render_template("accounts/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    operations.record_logout(db.session, current_user)
    db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            operations.change_password(
                db.session, current_user, form.current_password.data, form.password.data
            )
        except operations.AccountError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            # Every session ended with the new password: this browser gets a new one.
            user = current_user._get_current_object()
            operations.start_session(db.session, user)
            db.session.commit()
            login_user(user)
            flash(
                _("Your password has been changed. Other sessions have been signed out."), "success"
            )
            return redirect(url_for("core.home"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        operations.request_password_reset(db.session, form.email.data)
        db.session.commit()
        flash(
            _(
                "If an active account uses this address, we have sent it a link to choose a new "
                "password. The link works once and expires."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    if len(token) > 100 or operations.find_password_token(db.session, token) is None:
        return render_template("accounts/reset_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(db.session, token, form.password.data)
        except operations.AccountError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password has been set. You can now log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


# Administration of users -------------------------------------------------------------------


def _organisation_choices() -> list[SelectChoice]:
    rows = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.active.is_(True))
        .order_by(Organisation.name)
    ).all()
    return [SelectChoice(0, _("— none —")), *[SelectChoice(row.id, row.name) for row in rows]]


def _chosen_organisation(form) -> Organisation | None:
    if not form.organisation_id.data:
        return None
    organisation = db.session.get(Organisation, form.organisation_id.data)
    if organisation is None:
        abort(400)
    return organisation


@admin_bp.get("/")
@require(is_admin)
def list_users():
    search = UserSearchForm(request.args)
    query = select(User).order_by(User.display_name, User.id)
    if search.validate() and search.q.data:
        term = search.q.data.strip().lower()
        query = query.where(
            or_(
                User.email.contains(term, autoescape=True),
                func.lower(User.display_name).contains(term, autoescape=True),
            )
        )
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False, count=True)
    return render_template("admin/users.html", page=page, search=search, role_labels=ROLE_LABELS)


@admin_bp.route("/new", methods=["GET", "POST"])
@require(is_admin)
def new_user():
    form = NewUserForm()
    form.organisation_id.choices = _organisation_choices()
    if form.validate_on_submit():
        try:
            user = operations.create_user(
                db.session,
                email=form.email.data,
                display_name=form.display_name.data,
                roles={Role(r) for r in form.roles.data},
                organisation=_chosen_organisation(form),
                actor=current_user,
            )
        except operations.AccountError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Account created; a link to set the password was sent to %(email)s.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("admin_users.edit_user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@admin_bp.route("/<int:user_id>", methods=["GET", "POST"])
@require(is_admin)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.organisation_id.choices = _organisation_choices()
    if request.method == "GET":
        form.roles.data = sorted(role.value for role in user.roles)
        form.organisation_id.data = user.organisation_id or 0
    if form.validate_on_submit():
        try:
            operations.update_user(
                db.session,
                user,
                display_name=form.display_name.data,
                roles={Role(r) for r in form.roles.data},
                organisation=_chosen_organisation(form),
                actor=current_user,
            )
        except operations.AccountError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("admin_users.edit_user", user_id=user.id))
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id))
        .order_by(AuditEntry.id.desc())
        .limit(20)
    ).all()
    return render_template("admin/user_edit.html", user=user, form=form, history=history)


@admin_bp.post("/<int:user_id>/active")
@require(is_admin)
def set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    try:
        operations.set_active(db.session, user, active, actor=current_user)
    except operations.AccountError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
    else:
        db.session.commit()
        flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
    return redirect(url_for("admin_users.edit_user", user_id=user.id))


@admin_bp.post("/<int:user_id>/password-link")
@require(is_admin)
def send_password_link(user_id: int):
    user = db.get_or_404(User, user_id)
    if not user.active:
        flash(_("This account is deactivated: reactivate it first."), "danger")
    else:
        operations.issue_password_link(
            db.session, user, welcome=user.password_hash is None, actor=current_user
        )
        db.session.commit()
        flash(_("A link to set the password was sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin_users.edit_user", user_id=user.id))
