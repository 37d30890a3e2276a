from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.moderation.models import REASON_MAX, TRIAGE_ACTIONS
from app.plans.forms import LockField


class TriageForm(FlaskForm):
    action = HiddenField(validators=[InputRequired()])
    lock_version = LockField()
    reason = TextAreaField(
        _l("Reason (the author reads it)"),
        validators=[Optional(), Length(max=REASON_MAX)],
    )

    def chosen_action(self) -> str | None:
        return self.action.data if self.action.data in TRIAGE_ACTIONS else None
