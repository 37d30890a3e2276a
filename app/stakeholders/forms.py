from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from app.accounts.forms import MultiCheckboxField, SetPasswordForm
from app.core.i18n import lazy_gettext as _l
from app.stakeholders.labels import CHANNEL_LABELS, KIND_LABELS, STATUS_LABELS
from app.stakeholders.operations import Channel


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS), validators=[DataRequired()])
    istat_code = StringField(_l("ISTAT code"), validators=[Optional(), Length(max=6)])
    zone_id = SelectField(_l("Zona omogenea"), coerce=int, validators=[Optional()])
    pec = EmailField(_l("PEC address"), validators=[Optional(), Email(), Length(max=254)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Email(), Length(max=254)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])
    groups = MultiCheckboxField(_l("Groups"), coerce=int, validators=[Optional()])
    active = BooleanField(_l("Active (may take part in consultations)"), default=True)


class NamedForm(FlaskForm):
    """A zone or a group: a name and a description."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    display_name = StringField(_l("Name of the person"), validators=[Optional(), Length(max=200)])


class BulkInviteForm(FlaskForm):
    target = SelectField(_l("Invite the organisations of"), validators=[DataRequired()])
    channel = SelectField(
        _l("Send to"), choices=_choices(CHANNEL_LABELS), default=Channel.PEC_FIRST.value
    )
    #: Empty for the preview; "1" when the staff member confirms the preview.
    confirm = HiddenField()


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])


class ApplyImportForm(FlaskForm):
    """The previewed file's text, sent back to be imported (checked again before writing)."""

    content = HiddenField(validators=[DataRequired()])


class AcceptInvitationForm(SetPasswordForm):
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=200)])


class OrganisationSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice("", _l("All kinds")), *_choices(KIND_LABELS)],
        validators=[Optional()],
    )
    zone = SelectField(_l("Zona omogenea"), coerce=int, validators=[Optional()])
    group = SelectField(_l("Group"), coerce=int, validators=[Optional()])


class InvitationFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All")), *_choices(STATUS_LABELS)],
        validators=[Optional()],
    )
