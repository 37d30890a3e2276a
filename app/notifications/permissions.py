"""Who may look into the mail outbox."""

from __future__ import annotations

from app.core.permissions import is_admin, register


def can_manage_outbox(user) -> bool:
    """See every queued, sent and failed message (addresses included) and re-queue: admins."""
    return is_admin(user)


register(can_manage_outbox)
