"""The read side of API tokens: the administrators' list."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.api.models import ApiToken


def tokens() -> Select:
    """Every token, those in use first, latest first."""
    return select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
