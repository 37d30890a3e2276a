from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.refusals import commit_or_refuse
from app.core.security import public
from app.core.urls import safe_next_url
from app.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except DBAPIError:
        db.session.rollback()
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


@bp.post("/language")
@public
def set_language():
    """Switch the interface language and come back to the same page."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated and current_user.locale != lang:
            with commit_or_refuse():
                current_user.locale = lang
    return redirect(safe_next_url(request.form.get("next")) or "/")


@bp.get("/privacy")
@public
def privacy():
    return render_template("core/privacy.html", last_updated=date(2026, 11, 22), retention_years=5)
