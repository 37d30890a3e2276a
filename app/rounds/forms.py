from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.i18n import lazy_gettext as _l
from app.stakeholders.models import OrganisationKind

KIND_LABELS = {
    OrganisationKind.COMUNE: _l("Comuni"),
    OrganisationKind.UNIVERSITA: _l("Universities"),
    OrganisationKind.AUTONOMIA_FUNZIONALE: _l("Functional autonomies"),
    OrganisationKind.ASSOCIAZIONE_CATEGORIA: _l("Trade associations"),
    OrganisationKind.SINDACATO: _l("Trade unions"),
    OrganisationKind.TERZO_SETTORE: _l("Third sector"),
    OrganisationKind.ALTRO_ENTE_PUBBLICO: _l("Other public bodies"),
    OrganisationKind.ALTRO: _l("Other organisations"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoundForm(FlaskForm):
    plan_version_id = SelectField(_l("Text consulted on"), coerce=int, validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    instructions = TextAreaField(
        _l("Instructions for participants"), validators=[Length(max=20_000)]
    )
    opens_at = DateTimeLocalField(
        _l("Opens (Italian time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes (Italian time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    protocol_prefix = StringField(
        _l("Protocol prefix"), validators=[DataRequired(), Length(max=20)]
    )
    kinds = MultiCheckboxField(
        _l("Every organisation of these kinds"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
    )
    groups = MultiCheckboxField(_l("The members of these Tavoli"), coerce=int)
    zones = MultiCheckboxField(_l("The comuni of these zone omogenee"), coerce=int)
    citizens_eligible = BooleanField(_l("Registered citizens too"))
    accept_late = BooleanField(_l("Accept late observations (flagged as late)"))
    publish_after_close = BooleanField(_l("Publish the observations after the close"), default=True)
    reminder_days = IntegerField(
        _l("Reminder, days before the close (0: none)"),
        default=3,
        validators=[Optional(), NumberRange(min=0, max=60)],
    )


class StateForm(FlaskForm):
    action = StringField(validators=[DataRequired()])
    #: An administrator concluding with gaps says why (recorded with the gaps).
    override_reason = TextAreaField(
        _l("Why conclude anyway (recorded with what is missing)"),
        validators=[Optional(), Length(max=2_000)],
    )


class ResponseVersionForm(FlaskForm):
    """Start the response version (``action=start``, with a label) or choose an existing
    successor of the consulted version (``action=choose``, with its number)."""

    action = StringField(validators=[DataRequired()])
    label = StringField(_l("Label of the new version"), validators=[Optional(), Length(max=200)])
    version = IntegerField(_l("Version"), validators=[Optional()])
