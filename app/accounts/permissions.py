"""Who may administer accounts."""

from __future__ import annotations

from app.core.permissions import is_admin, register


def can_manage_users(user) -> bool:
    """Create accounts, change roles, deactivate, send password links: administrators."""
    return is_admin(user)


register(can_manage_users)
