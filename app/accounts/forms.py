from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.models import Role
from app.accounts.operations import PASSWORD_MAX_LENGTH, password_problem
from app.core.i18n import lazy_gettext as _l

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.EDITOR: _l("Plan editor"),
    Role.MODERATOR: _l("Moderator"),
    Role.STAKEHOLDER: _l("Stakeholder referent"),
    Role.CITIZEN: _l("Registered citizen"),
}


class NewPassword:
    """Validate a new password with the same rules the operations enforce."""

    def __call__(self, form, field) -> None:
        problem = password_problem(field.data or "")
        if problem:
            raise ValidationError(str(problem))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), NewPassword()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)]
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validators=[DataRequired(message=_l("Choose at least one role."))],
    )
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[Optional()])


class NewUserForm(UserForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
