"""The one shape of a refusal an operation gives a user, and how a form shows it."""

from __future__ import annotations

from flask import flash


class Refusal(ValueError):
    """An operation refused: ``message`` (translatable) says why; ``field`` names the form field
    it concerns, if any. Domains subclass it (AccountError, RoundError, ObservationError…)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def show_refusal(form, error) -> None:
    """Attach the refusal to its field, or flash it when it concerns no field of the form."""
    field = getattr(form, error.field, None) if getattr(error, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        flash(str(error.message), "danger")
