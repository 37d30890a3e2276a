from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from app.core.i18n import lazy_gettext as _l
from app.plans.models import Audience, PolicyArea

AUDIENCE_LABELS = {
    Audience.PUBLIC: _l("Everyone (public)"),
    Audience.REGISTERED: _l("Logged-in users"),
    Audience.STAFF: _l("Staff only"),
}

POLICY_AREA_LABELS = {
    PolicyArea.AGILE: _l("Agile and high-performing"),
    PolicyArea.CREATIVA: _l("Creative and innovative"),
    PolicyArea.ATTRATTIVA: _l("Attractive and open to the world"),
    PolicyArea.INTELLIGENTE: _l("Smart and sustainable"),
    PolicyArea.VELOCE: _l("Fast and integrated"),
    PolicyArea.COESA: _l("Cohesive and cooperative"),
}

STATUS_LABELS = {
    "draft": _l("draft"),
    "frozen": _l("frozen"),
    "adopted": _l("adopted"),
}

ALLOWED_HTML_HINT = _l(
    "Allowed: paragraphs (<p>), bold (<strong>), italics (<em>), lists (<ul>, <ol>, <li>), "
    "links (<a href>) and tables. Anything else is removed when you save."
)


class PlanForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    owner = StringField(_l("Owning body"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    audience = SelectField(
        _l("Who can read the frozen and adopted versions"),
        choices=[SelectChoice(a.value, label) for a, label in AUDIENCE_LABELS.items()],
        validators=[InputRequired()],
    )


class NewPlanForm(PlanForm):
    slug = StringField(_l("Address (slug)"), validators=[DataRequired(), Length(min=2, max=80)])


class ImportForm(FlaskForm):
    file = FileField(_l("File (DOCX, ODT or Markdown)"), validators=[FileRequired()])
    label = StringField(_l("Version label"), validators=[DataRequired(), Length(max=200)])
    predecessor = SelectField(_l("Continues"), coerce=int, validators=[Optional()])


class LabelForm(FlaskForm):
    label = StringField(
        _l("Label of the new version"), validators=[DataRequired(), Length(max=200)]
    )


class LockField(IntegerField):
    """The lock_version the editor's page was made from (see operations.ConflictError): a
    required integer, rendered from its data (after a conflict, the current lock version), never
    from what was posted."""

    widget = HiddenInput()

    def __init__(self, **kwargs) -> None:
        super().__init__(validators=[InputRequired()], **kwargs)

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class SectionForm(FlaskForm):
    number = StringField(_l("Number"), validators=[Optional(), Length(max=20)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    policy_area = SelectField(
        _l("Policy area"),
        choices=[
            SelectChoice("", _l("— none —")),
            *[SelectChoice(a.value, label) for a, label in POLICY_AREA_LABELS.items()],
        ],
        validators=[Optional()],
    )
    lock_version = LockField()


class NewSectionForm(SectionForm):
    parent = HiddenField()
    lock_version = None  # a new section has nothing to be stale against


class ParagraphForm(FlaskForm):
    html = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=100_000)])
    lock_version = LockField()


class NewParagraphForm(FlaskForm):
    html = TextAreaField(
        _l("Text of the new paragraph"), validators=[DataRequired(), Length(max=100_000)]
    )
    after = HiddenField()


class SplitForm(FlaskForm):
    html = TextAreaField(
        _l("Text, with a line of three hyphens (---) where to split"),
        validators=[DataRequired(), Length(max=100_000)],
    )
    lock_version = LockField()


class MoveToSectionForm(FlaskForm):
    section = SelectField(_l("Move to section"), validators=[DataRequired()])


class DiffForm(FlaskForm):
    class Meta:
        csrf = False

    old = IntegerField(_l("From version"), validators=[InputRequired()])
    new = IntegerField(_l("To version"), validators=[InputRequired()])


class EditorialForm(FlaskForm):
    """Mark a stored change editorial (with a note), or remove the mark (``unmark``)."""

    note = TextAreaField(_l("Why is this change editorial?"), validators=[Length(max=2000)])
    unmark = HiddenField()
