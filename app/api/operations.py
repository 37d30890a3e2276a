"""Creating, checking and revoking personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.api.models import ApiToken
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l

TOKEN_PREFIX = "trc_"  # noqa: S105 - a public marker, not a secret
#: last_used_at is written at most this often, so that busy integrations don't write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, user: User, name: str, actor: User) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it with the secret, which is shown only once."""
    if not user.active:
        raise TokenError(_l("The account is deactivated: it cannot have API tokens."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=secret[:12],
        token_hash=hash_token(secret),
        created_by_id=actor.id,
    )
    session.add(token)
    session.flush()
    record(session, "api_token.created", actor=actor, obj=token, user_id=user.id, name=token.name)
    return token, secret


def revoke_token(session: Session, token: ApiToken, *, actor: User) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    record(session, "api_token.revoked", actor=actor, obj=token, user_id=token.user_id)


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The active token with this secret whose user is active, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token
