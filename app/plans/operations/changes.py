"""Marking a stored change editorial: no point motivated it (a typo, a renumbering), so the
coverage of a round accepts it without a linked point."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.plans.changes import TextChange
from app.plans.models import PlanError

#: The longest editorial note.
NOTE_MAX = 2_000


def mark_editorial(
    session: Session, change: TextChange, *, editorial: bool, note: str = "", actor=None
) -> None:
    """Mark (``editorial=True``, with a note saying why) or unmark a current change.

    Allowed on a frozen version too: its text is fixed, but the editors review coverage after
    freezing the response version (the immutability guard lets these columns through)."""
    if change.ended_at is not None:
        raise PlanError(_l("This change no longer exists in the text: it cannot be marked."))
    note = " ".join((note or "").split())
    if editorial:
        if not note:
            raise PlanError(_l("Say why the change is editorial."), "note")
        if len(note) > NOTE_MAX:
            raise PlanError(_l("The note is too long."), "note")
        if change.editorial and change.editorial_note == note:
            return
        change.editorial, change.editorial_note = True, note
        change.editorial_by_id = getattr(actor, "id", None)
        change.editorial_at = utcnow()
        action = "plan.change_marked_editorial"
    else:
        if not change.editorial:
            return
        change.editorial, change.editorial_note = False, ""
        change.editorial_by_id = change.editorial_at = None
        action = "plan.change_unmarked_editorial"
    change.updated_at = utcnow()
    session.flush()
    record(session, action, actor=actor, obj=change, version_id=change.version_id)
