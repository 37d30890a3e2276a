from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.core.i18n import lazy_gettext as _l
from app.observations.models import INTAKE_CHANNELS, Channel, ObservationKind

KIND_LABELS = {
    ObservationKind.OBSERVATION: _l("Observation"),
    ObservationKind.SUGGESTION: _l("Suggestion"),
    ObservationKind.AMENDMENT: _l("Proposed amendment (with replacement text)"),
}
CHANNEL_LABELS = {
    Channel.WEB: _l("Traccia"),
    Channel.API: _l("Integration (API)"),
    Channel.PEC: _l("PEC"),
    Channel.LETTER: _l("Letter"),
    Channel.EMAIL: _l("E-mail"),
    Channel.MEETING: _l("Tavolo meeting"),
}


class ObservationForm(FlaskForm):
    #: One per form shown: a form sent twice (double click, reload) makes one observation.
    form_token = HiddenField()
    lock_version = HiddenField()
    kind = RadioField(
        _l("Kind"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        default=ObservationKind.OBSERVATION.value,
    )
    title = StringField(_l("Title"), validators=[Length(max=300)])
    body = TextAreaField(_l("Your observation"), validators=[Length(max=100_000)])
    proposed_text = TextAreaField(
        _l("Proposed text (for amendments)"), validators=[Length(max=20_000)]
    )
    consent_public_name = BooleanField(_l("I agree that my name be published with the observation"))
    attachment = FileField(_l("Attach a document (PDF, ODT or DOCX)"))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Length(max=2000)])


class IntakeForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    channel = SelectField(
        _l("Arrived by"),
        choices=[SelectChoice(c.value, CHANNEL_LABELS[c]) for c in INTAKE_CHANNELS],
        validators=[DataRequired()],
    )
    received_at = DateTimeLocalField(
        _l("Received on (Italian time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    signatory = StringField(_l("Signed by"), validators=[Optional(), Length(max=300)])
    section = SelectField(_l("Section"), validators=[Optional()])
    paragraph = StringField(
        _l("Paragraph key (optional, e.g. 4f2a9c)"), validators=[Optional(), Length(max=16)]
    )
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(
        _l("Text, or its summary"), validators=[DataRequired(), Length(max=100_000)]
    )
    proposed_text = TextAreaField(
        _l("Proposed text (for amendments)"), validators=[Length(max=20_000)]
    )
    consent_public_name = BooleanField(_l("The author agreed to the publication of their name"))
    original = FileField(_l("The original document as received (PDF, ODT or DOCX)"))


class TrackForm(FlaskForm):
    protocol = StringField(_l("Protocol number"), validators=[DataRequired(), Length(max=40)])
    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=20)])
