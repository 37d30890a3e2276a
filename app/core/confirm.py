"""Irreversible actions ask first, on a page of their own (so that it works without JavaScript).

A view that does something that cannot be undone calls :func:`ask_first` once it has checked
the permission and the input, and returns the page it gives::

    if page := ask_first(
        title=_("Freeze version %(n)d?", n=version.number),
        consequence=_("Its text can no longer be changed."),
        confirm_label=_("Freeze the version"),
        cancel_url=url_for("plans.show_plan", slug=slug),
    ):
        return page

The first POST (from the button on the page) answers with the confirmation page, which posts
the same values again with ``confirmed=1``; that second POST gets ``None`` and goes on. Extra
``fields`` (WTForms fields, e.g. a reason) are asked on the confirmation page itself.
"""

from __future__ import annotations

from flask import render_template, request

#: The form value that marks a POST as confirmed on the confirmation page.
CONFIRMED = "confirmed"


def is_confirmed() -> bool:
    return request.form.get(CONFIRMED) == "1"


def ask_first(
    *, title, consequence, confirm_label, cancel_url, fields=(), details=None, invalid=False
):
    """The confirmation page for this POST, or ``None`` when the user has confirmed it (and,
    with ``invalid``, the fields asked on the page were not valid: the page again, with their
    errors)."""
    if is_confirmed() and not invalid:
        return None
    own = {field.name for field in fields} | {"csrf_token", CONFIRMED}
    kept = [(name, value) for name, value in request.form.items(multi=True) if name not in own]
    page = render_template(
        "core/confirm.html",
        title=title,
        consequence=consequence,
        confirm_label=confirm_label,
        cancel_url=cancel_url,
        fields=fields,
        details=details,
        kept=kept,
        action=request.full_path.rstrip("?"),
    )
    return page, 422 if is_confirmed() else 200
