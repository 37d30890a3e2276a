from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from app.core.i18n import lazy_gettext as _l


class NewTokenForm(FlaskForm):
    email = EmailField(
        _l("E-mail address of the account the token acts as"),
        validators=[DataRequired(), Email(), Length(max=254)],
    )
    name = StringField(
        _l("Name (what the token is for)"), validators=[DataRequired(), Length(max=120)]
    )
