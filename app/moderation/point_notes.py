"""Internal notes on one point (``InternalNote`` with its ``point_id``, written by
``operations.add_note(..., point=…)``): staff only, like the observation's; never on a public
page, in an export or an e-mail."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.moderation.models import InternalNote


def point_notes_of(session: Session, point_ids: Iterable[int]) -> dict[int, list[InternalNote]]:
    """The notes on each point, oldest first (one statement)."""
    ids = list(point_ids)
    result: dict[int, list[InternalNote]] = {i: [] for i in ids}
    for note in session.scalars(
        select(InternalNote)
        .where(InternalNote.point_id.in_(ids))
        .order_by(InternalNote.created_at, InternalNote.id)
    ):
        result[note.point_id].append(note)
    return result
