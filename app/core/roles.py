"""The roles a user can hold, and how they read: the ground every permission predicate stands on.

They live here, below every domain, so that ``core.permissions`` can name them without importing
the accounts package; ``app.accounts.models`` stores them on ``UserRole`` and re-exports ``Role``.
"""

from __future__ import annotations

import enum

from app.core.i18n import lazy_gettext as _l


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    MODERATOR = "moderator"
    STAKEHOLDER = "stakeholder"
    #: A registered citizen, speaking for themselves (rounds may admit them).
    CITIZEN = "citizen"


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.EDITOR: _l("Plan editor"),
    Role.MODERATOR: _l("Moderator"),
    Role.STAKEHOLDER: _l("Stakeholder referent"),
    Role.CITIZEN: _l("Registered citizen"),
}
