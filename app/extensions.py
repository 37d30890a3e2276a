"""Extensions, created here and bound to the application in create_app."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.core.db import Base


class _SQLAlchemy(SQLAlchemy):
    def paginate(self, select, *, page=None, **kwargs):
        """``?page=`` read within bounds (``app.core.bounds.page_argument``) for every list."""
        if page is None:
            from app.core.bounds import page_argument

            page = page_argument()
        return super().paginate(select, page=page, **kwargs)


db = _SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
babel = Babel()
