"""The API's blueprints, apart from the modules that add endpoints to them (``routes``,
``consultations``), so that neither of those imports the other."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from app.api.views import authenticate_request
from app.core.security import is_public_endpoint
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies: every request carries its token

admin_bp = Blueprint("admin_api_tokens", __name__, url_prefix="/admin/api-tokens")


@bp.before_request
def _authenticate():
    """Deny by default here too: every API endpoint needs a token unless marked @public."""
    if not is_public_endpoint(current_app, request.endpoint):
        authenticate_request()
