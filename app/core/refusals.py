"""The one shape of a refusal an operation gives a user, and how a form shows it."""

from __future__ import annotations

from flask import flash


class Refusal(ValueError):
    """An operation refused: ``message`` (translatable) says why; ``field`` names the form field
    it concerns, if any. Domains subclass it (AccountError, RoundError, ObservationError…)."""

    def __init__(self, message, field: str | None = None, *, more: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        #: Further fields refused at the same time, with their messages (e.g. every missing
        #: field of an empty form, reported at once).
        self.more = more or {}


def show_refusal(form, error) -> None:
    """Attach the refusal to its field(s), or flash it when it concerns no field of the form."""
    refusals = {getattr(error, "field", None): error.message, **getattr(error, "more", {})}
    for name, message in refusals.items():
        field = getattr(form, name, None) if name else None
        if field is not None:
            field.errors = [*field.errors, str(message)]
        else:
            flash(str(message), "danger")
