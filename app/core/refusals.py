"""The one shape of a refusal an operation gives a user, and the one way an HTML view commits
or refuses.

A view calls its operation inside :func:`commit_or_refuse`::

    with commit_or_refuse(form) as attempt:
        organisation = operations.create_organisation(db.session, data, actor=current_user)
    if attempt.done:
        flash(_("Organisation created."), "success")
        return redirect(url_for(...))
    return render_template(...), attempt.status

A :class:`Refusal` raised inside the block rolls the whole request back and is shown to the
user (on its form field, or flashed); anything else commits, once. Other exceptions propagate
untouched (the error handlers answer them). The API has the same in ``app.api.views.api_view``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash

from app.extensions import db


class Refusal(ValueError):
    """An operation refused: ``message`` (translatable) says why; ``field`` names the form field
    it concerns, if any. Every domain's refusal is one of these (AccountError, PlanError,
    RegistryError, RoundError, ObservationError, TokenError…). ``status`` and ``code`` are
    how the API answers it (``app.api.views.api_view``)."""

    status: int = 422
    code: str | None = None

    def __init__(self, message, field: str | None = None, *, more: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        #: Further fields refused at the same time, with their messages (e.g. every missing
        #: field of an empty form, reported at once).
        self.more = more or {}


def show_refusal(form, error: Refusal, *, field: str | None = None) -> None:
    """Attach the refusal to its field(s) — the one it names and any ``more`` — or, when the
    form has no such field, to ``field`` (the view's default); flash it when neither fits."""
    refusals = {getattr(error, "field", None): error.message, **getattr(error, "more", {})}
    for name, message in refusals.items():
        target = getattr(form, name, None) if form is not None and name else None
        if target is None and form is not None and field:
            target = getattr(form, field, None)
        if target is not None:
            target.errors = [*target.errors, str(message)]
        else:
            flash(str(message), "danger")


@dataclass
class Attempt:
    """What came of a :func:`commit_or_refuse` block."""

    refusal: Refusal | None = None
    #: Set by :meth:`discard`: the block ends without writing anything, refused or not.
    discarded: bool = False

    def discard(self) -> None:
        """Write nothing of what the block did: a preview, or a plan that found problems."""
        self.discarded = True

    @property
    def done(self) -> bool:
        """The block's work was committed."""
        return self.refusal is None and not self.discarded

    @property
    def status(self) -> int:
        """The status of a page shown again: 422 after a refusal, else 200."""
        return 200 if self.refusal is None else 422


@contextmanager
def commit_or_refuse(
    form=None, *, field: str | None = None, show: bool = True
) -> Iterator[Attempt]:
    """Commit what the block did, once; on a :class:`Refusal` roll it all back and show why.

    ``form``/``field``: where the message goes (see :func:`show_refusal`); ``show=False`` leaves
    showing it to the view (which may first need to reload what the rollback expired)."""
    attempt = Attempt()
    try:
        yield attempt
    except Refusal as refusal:
        db.session.rollback()
        attempt.refusal = refusal
        if show:
            show_refusal(form, refusal, field=field)
    else:
        if attempt.discarded:
            db.session.rollback()
        else:
            db.session.commit()
