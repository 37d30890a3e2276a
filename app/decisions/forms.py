from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from app.core.i18n import lazy_gettext as _l
from app.decisions.models import OUTCOME_LABELS, REASONING_MAX, TITLE_MAX, Outcome
from app.rounds.forms import MultiCheckboxField


def _outcome_choices(blank):
    return [SelectChoice("", blank)] + [
        SelectChoice(outcome.value, label) for outcome, label in OUTCOME_LABELS.items()
    ]


class OptionalLockField(HiddenField):
    """The lock version the page was made from (empty for a decision not written yet)."""

    widget = HiddenInput()

    def process_formdata(self, valuelist):
        value = valuelist[0] if valuelist else ""
        self.data = int(value) if value.isdigit() and len(value) < 9 else None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class DecisionForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=lambda: _outcome_choices(_l("— not chosen yet —")))
    reasoning = TextAreaField(
        _l("Reasoning (controdeduzione: the author reads it)"),
        validators=[Optional(), Length(max=REASONING_MAX)],
    )
    #: Already covered: the paragraph of the consulted version that says it.
    paragraph_id = SelectField(
        _l("Paragraph that already covers it"), coerce=str, validate_choice=False
    )
    #: Accepted, partly accepted: the stored changes of the response version (``c<id>``, or
    #: ``s<id>`` for a change narrowed to words).
    changes = MultiCheckboxField(
        _l("Changes of the response version it caused"), validate_choice=False
    )
    lock_version = OptionalLockField()

    def chosen_outcome(self) -> Outcome | None:
        value = self.outcome.data
        return Outcome(value) if value in Outcome._value2member_map_ else None


class PublishForm(FlaskForm):
    lock_version = OptionalLockField()


class SettingsForm(FlaskForm):
    any_editor = BooleanField(_l("Any plan editor may decide any point (not only those assigned)"))
    reasoning_optional = MultiCheckboxField(
        _l("Outcomes that may be published without a reasoning"),
        choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
    )


class TemplateForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Reasoning"), validators=[InputRequired(), Length(max=REASONING_MAX)])
    outcome = SelectField(
        _l("Usually given with"), choices=lambda: _outcome_choices(_l("— any outcome —"))
    )

    def chosen_outcome(self) -> Outcome | None:
        value = self.outcome.data
        return Outcome(value) if value in Outcome._value2member_map_ else None


class TraceForm(FlaskForm):
    protocol = StringField(_l("Protocol number"), validators=[InputRequired(), Length(max=40)])
    code = StringField(_l("Verification code"), validators=[InputRequired(), Length(max=40)])
