"""Who may keep the stakeholder registry."""

from __future__ import annotations

from app.core.permissions import is_moderator, register


def can_manage_registry(user) -> bool:
    """Keep the registry (organisations, zones, groups, imports) and invite referents:
    administrators and moderators."""
    return is_moderator(user)


register(can_manage_registry)
