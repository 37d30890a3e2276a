from __future__ import annotations

import pytest

from app.api import operations
from app.core.ratelimit import limiter
from app.extensions import db as _db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def make_token(db, make_user):
    """``make_token(user=None, *roles)`` returns (token row, secret)."""

    def make(user=None, *roles, name="records system"):
        from app.accounts.models import Role

        user = user or make_user(*(roles or (Role.MODERATOR,)))
        admin = make_user(Role.ADMIN)
        token, secret = operations.create_token(_db.session, user=user, name=name, actor=admin)
        _db.session.commit()
        return token, secret

    return make


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}
