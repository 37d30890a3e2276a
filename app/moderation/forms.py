from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from app.core.i18n import lazy_gettext as _l
from app.moderation.models import (
    COLOUR_LABELS,
    NAME_MAX,
    NOTE_MAX,
    PALETTE,
    REASON_MAX,
    TRIAGE_ACTIONS,
)
from app.plans.forms import LockField
from app.rounds.forms import MultiCheckboxField


class TriageForm(FlaskForm):
    action = HiddenField(validators=[InputRequired()])
    lock_version = LockField()
    reason = TextAreaField(
        _l("Reason (the author reads it)"),
        validators=[Optional(), Length(max=REASON_MAX)],
    )

    def chosen_action(self) -> str | None:
        return self.action.data if self.action.data in TRIAGE_ACTIONS else None


def _colour_choices():
    return [SelectChoice(key, COLOUR_LABELS[key]) for key in PALETTE]


class ThemeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=NAME_MAX)])
    colour = SelectField(_l("Colour"), choices=_colour_choices, validators=[InputRequired()])


class TagEditForm(ThemeForm):
    lock_version = LockField()


class MergeForm(FlaskForm):
    target = SelectField(_l("Merge into"), coerce=int, validators=[InputRequired()])
    lock_version = LockField()
    target_lock = IntegerField(widget=HiddenInput(), validators=[Optional()])
    confirm = HiddenField()


class ObservationTagsForm(FlaskForm):
    tags = MultiCheckboxField(_l("Tags"), coerce=int, validators=[Optional()])
    lock_version = LockField()


class BulkForm(FlaskForm):
    """Only the CSRF check: the bulk fields are read by the view (lists of items, a filter)."""


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Internal note (staff only)"), validators=[InputRequired(), Length(max=NOTE_MAX)]
    )
