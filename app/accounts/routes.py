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
from flask_login import current_user, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from app.accounts import operations, queries
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
from app.accounts.permissions import can_manage_users
from app.core.confirm import ask_first
from app.core.pagination import paginate
from app.core.permissions import is_logged_in, require
from app.core.refusals import commit_or_refuse
from app.core.security import public
from app.core.urls import safe_next_url
from app.extensions import db
from app.stakeholders.models import Organisation
from app.stakeholders.queries import active_organisation_names

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
        with commit_or_refuse():  # failures are recorded too: they count for throttling
            outcome = operations.authenticate(db.session, form.email.data, form.password.data)
            if outcome.user is not None:
                operations.start_session(db.session, outcome.user)
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
@require(is_logged_in)
def logout():
    with commit_or_refuse():
        operations.record_logout(db.session, current_user)
    _end_browser_session()
    flash(_("You have logged out."), "success")
    return redirect(url_for("accounts.login"))


@bp.post("/logout/everywhere")
@require(is_logged_in)
def logout_everywhere():
    """End every session of the account, on every device (this one too), after asking."""
    if page := ask_first(
        title=_("Log out everywhere"),
        consequence=_(
            "Every browser and device where your account is signed in, this one included, is "
            "logged out at once. You can log in again with your password."
        ),
        confirm_label=_("Log out everywhere"),
        cancel_url=url_for("core.home"),
    ):
        return page
    with commit_or_refuse():
        operations.logout_everywhere(db.session, current_user)
    _end_browser_session()
    flash(_("Every session of your account has ended."), "success")
    return redirect(url_for("accounts.login"))


def _end_browser_session() -> None:
    """Forget the login in this browser, keeping only the chosen language."""
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/account/password", methods=["GET", "POST"])
@require(is_logged_in)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.change_password(
                db.session, current_user, form.current_password.data, form.password.data
            )
            # Every session ended with the new password: this browser gets a new one.
            user = current_user._get_current_object()
            operations.start_session(db.session, user)
        if attempt.done:
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
        with commit_or_refuse():
            operations.request_password_reset(db.session, form.email.data)
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
        with commit_or_refuse(form) as attempt:
            operations.reset_password(db.session, token, form.password.data)
        if attempt.done:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password has been set. You can now log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


# Administration of users -------------------------------------------------------------------


def _organisation_choices() -> list[SelectChoice]:
    rows = active_organisation_names()
    return [SelectChoice(0, _("— none —")), *[SelectChoice(row.id, row.name) for row in rows]]


def _chosen_organisation(form) -> Organisation | None:
    if not form.organisation_id.data:
        return None
    organisation = db.session.get(Organisation, form.organisation_id.data)
    if organisation is None:
        abort(400)
    return organisation


@admin_bp.get("/")
@require(can_manage_users)
def list_users():
    search = UserSearchForm(request.args)
    filters = (
        queries.UserFilters(search.q.data or "") if search.validate() else queries.UserFilters()
    )
    page = paginate(queries.users(filters), per_page=PAGE_SIZE)
    return render_template("admin/users.html", page=page, search=search, role_labels=ROLE_LABELS)


@admin_bp.route("/new", methods=["GET", "POST"])
@require(can_manage_users)
def new_user():
    form = NewUserForm()
    form.organisation_id.choices = _organisation_choices()
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            user = operations.create_user(
                db.session,
                email=form.email.data,
                display_name=form.display_name.data,
                roles={Role(r) for r in form.roles.data},
                organisation=_chosen_organisation(form),
                actor=current_user,
            )
        if attempt.done:
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
@require(can_manage_users)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.organisation_id.choices = _organisation_choices()
    if request.method == "GET":
        form.roles.data = sorted(role.value for role in user.roles)
        form.organisation_id.data = user.organisation_id or 0
    if form.validate_on_submit():
        with commit_or_refuse(form) as attempt:
            operations.update_user(
                db.session,
                user,
                display_name=form.display_name.data,
                roles={Role(r) for r in form.roles.data},
                organisation=_chosen_organisation(form),
                actor=current_user,
            )
        if attempt.done:
            flash(_("Changes saved."), "success")
            return redirect(url_for("admin_users.edit_user", user_id=user.id))
    return render_template(
        "admin/user_edit.html", user=user, form=form, history=queries.history(user)
    )


@admin_bp.post("/<int:user_id>/active")
@require(can_manage_users)
def set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    with commit_or_refuse() as attempt:
        operations.set_active(db.session, user, active, actor=current_user)
    if attempt.done:
        flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
    return redirect(url_for("admin_users.edit_user", user_id=user.id))


@admin_bp.post("/<int:user_id>/password-link")
@require(can_manage_users)
def send_password_link(user_id: int):
    user = db.get_or_404(User, user_id)
    if not user.active:
        flash(_("This account is deactivated: reactivate it first."), "danger")
    else:
        with commit_or_refuse():
            operations.issue_password_link(
                db.session, user, welcome=user.password_hash is None, actor=current_user
            )
        flash(_("A link to set the password was sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin_users.edit_user", user_id=user.id))
