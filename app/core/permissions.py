"""Named permission predicates, and the one decorator that puts them in front of a view.

A predicate takes the user (possibly anonymous) first and answers True or False: a *role*
predicate takes only the user (``is_editor(user)``), an *object* predicate the user and one
object (``can_see_round(user, round_)``). Each domain keeps its predicates in its own
``permissions.py`` and registers them with :func:`register`, which makes them template
globals; views and the API call the same functions.

``@require(role, load=…, visible=…, allowed=…)`` asks, in this order:

1. ``role(user)``, before anything is looked up: else 403;
2. ``load``: the object the URL names, else 404;
3. ``visible(user, obj)``: else 404 — for this user the object does not exist;
4. ``allowed(user, obj)``: else 403 — they may see it, not do this.

So a stranger cannot tell an object that exists from one that does not: what they may not
see answers like what is not there. Where a page is public, an anonymous visitor refused at
step 1 or 4 is sent to the login page instead of a 403. The loaded object reaches the view
as a keyword argument (``load.name``) in place of the URL values it was found by. What a view
requires is recorded on it as ``view.permission`` (a :class:`Permission`), which the
permission tests read for every route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import abort
from flask_login import current_user

from app.core.roles import Role
from app.extensions import login_manager

#: Every named predicate, by name: template globals, and the permission vocabulary.
PREDICATES: dict[str, Callable] = {}


def register(*predicates: Callable) -> None:
    """Make predicates known by name (templates call them as globals)."""
    for predicate in predicates:
        PREDICATES[predicate.__name__] = predicate


def _roles(user) -> frozenset:
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    return user.roles


def anyone(user) -> bool:
    """Everyone, logged in or not: for public pages that check an object predicate."""
    return True


def is_logged_in(user) -> bool:
    """Any active, logged-in user (or, in the API, the holder of a valid token)."""
    return bool(getattr(user, "is_authenticated", False))


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


register(anyone, is_logged_in, is_admin, is_staff, is_moderator, is_editor, is_stakeholder)


@dataclass(frozen=True)
class Loader:
    """How a view's object is found: ``fetch`` takes the URL values named in ``args`` and
    returns the object or None; the view receives it as ``name``."""

    name: str
    args: tuple[str, ...]
    fetch: Callable


@dataclass(frozen=True)
class Permission:
    """What a view requires, in the order it is checked (see the module's docstring)."""

    role: Callable
    load: Loader | None = None
    visible: Callable | None = None
    allowed: Callable | None = None

    @property
    def predicates(self) -> tuple[Callable, ...]:
        return tuple(p for p in (self.role, self.visible, self.allowed) if p is not None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.__name__ for p in self.predicates)


def _refuse():
    if not current_user.is_authenticated:  # only on public pages: others ask to log in first
        return login_manager.unauthorized()
    abort(403)


def require(
    role: Callable,
    *,
    load: Loader | None = None,
    visible: Callable | None = None,
    allowed: Callable | None = None,
) -> Callable:
    """Check ``role``, then load the object, then ``visible`` and ``allowed``; see above."""
    if (visible or allowed) and load is None:
        raise TypeError("object predicates need an object: give load=")
    permission = Permission(role, load, visible, allowed)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not role(current_user):
                return _refuse()
            if load is not None:
                found = load.fetch(*(kwargs.pop(name) for name in load.args))
                if found is None or (visible is not None and not visible(current_user, found)):
                    abort(404)
                if allowed is not None and not allowed(current_user, found):
                    return _refuse()
                kwargs[load.name] = found
            return view(*args, **kwargs)

        wrapped.permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator
