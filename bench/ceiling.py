"""The ceiling: the least a page can cost on this stack, measured beside Traccia in each run.

A bare Flask + Flask-SQLAlchemy application with one endpoint that reads one row (an
organisation, by primary key, through the ORM) and renders one small Jinja template. ``make
bench`` serves it with the same gunicorn settings as Traccia, on the same database, and reports
each Traccia page's throughput as a share of this one's, measured right before it.

    DATABASE_URL=… gunicorn --workers 2 bench.ceiling:app
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, abort, render_template
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Organisation(Base):
    """Two columns of Traccia's table (read only)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    db.init_app(app)

    @app.get("/")
    def one_row():
        organisation = db.session.get(Organisation, 1)
        if organisation is None:
            abort(404)
        return render_template("ceiling.html", organisation=organisation)

    return app


app = create_app() if "DATABASE_URL" in os.environ else None
