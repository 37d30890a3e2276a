"""One way every list pages: a bounded page number from the URL, a fixed page size."""

from __future__ import annotations

from flask import request
from sqlalchemy import Select

from app.extensions import db

#: Beyond this the page number is not believed (an OFFSET past any real list).
MAX_PAGE = 10_000


def page_number() -> int:
    """``?page=`` as a number from 1 to :data:`MAX_PAGE`; anything else is page 1."""
    value = request.args.get("page", "")
    if not value.isdigit() or len(value) > 6:
        return 1
    return min(max(int(value), 1), MAX_PAGE)


def paginate(query: Select, *, per_page: int, count: bool = True):
    """The requested page of ``query`` (a Flask-SQLAlchemy ``Pagination``); a page past the
    end is empty, never a 404. ``count=False`` skips counting the whole list."""
    return db.paginate(
        query,
        page=page_number(),
        per_page=per_page,
        max_per_page=per_page,
        error_out=False,
        count=count,
    )
