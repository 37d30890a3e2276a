"""Named permission predicates, shared by views, templates and the API.

Each takes the user (possibly anonymous) first and answers True or False; views use
:func:`require` to turn a False into a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from app.core.roles import Role


def _roles(user) -> frozenset:
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    return user.roles


def is_admin(user) -> bool:
    return Role.ADMIN in _roles(user)


def is_staff(user) -> bool:
    """Metropolitan city staff: anyone who moderates, edits plans or administers."""
    return not _roles(user).isdisjoint({Role.ADMIN, Role.EDITOR, Role.MODERATOR})


def is_moderator(user) -> bool:
    return not _roles(user).isdisjoint({Role.ADMIN, Role.MODERATOR})


def is_editor(user) -> bool:
    return not _roles(user).isdisjoint({Role.ADMIN, Role.EDITOR})


def is_stakeholder(user) -> bool:
    return Role.STAKEHOLDER in _roles(user)


def can_manage_registry(user) -> bool:
    """Keep the stakeholder registry and invite referents: administrators and moderators."""
    return is_moderator(user)


PREDICATES: dict[str, Callable] = {
    "can_manage_registry": can_manage_registry,
    "is_admin": is_admin,
    "is_staff": is_staff,
    "is_moderator": is_moderator,
    "is_editor": is_editor,
    "is_stakeholder": is_stakeholder,
}


def require(predicate: Callable) -> Callable:
    """Refuse the view with 403 unless ``predicate(current_user)`` holds."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not predicate(current_user):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = predicate  # type: ignore[attr-defined]
        return wrapped

    return decorator
