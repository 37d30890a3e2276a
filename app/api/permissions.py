"""Who may issue API tokens and who may call the API."""

from __future__ import annotations

from app.core.permissions import is_admin, is_logged_in, register


def can_manage_tokens(user) -> bool:
    """Issue and revoke personal API tokens: administrators."""
    return is_admin(user)


def can_use_api(user) -> bool:
    """The holder of a valid token (its user is the request's user); what they may do with a
    round or an observation is then the domain's own predicates."""
    return is_logged_in(user)


register(can_manage_tokens, can_use_api)
