"""One way every list pages: a fixed page size, the page number read within bounds
(``app.core.bounds.page_argument``: garbage is page 1, beyond any real offset a 404)."""

from __future__ import annotations

from sqlalchemy import Select

from app.extensions import db


def paginate(query: Select, *, per_page: int, count: bool = True):
    """The requested page of ``query`` (a Flask-SQLAlchemy ``Pagination``); a page past the
    end is empty, never an error. ``count=False`` skips counting the whole list."""
    return db.paginate(
        query, per_page=per_page, max_per_page=per_page, error_out=False, count=count
    )
