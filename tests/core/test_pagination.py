"""One way every list pages (the page number's bounds are tested in tests/security)."""

from __future__ import annotations

from sqlalchemy import select

from app.core.pagination import paginate
from app.stakeholders.models import Zone


def test_pages_of_a_fixed_size_and_a_page_past_the_end_is_empty(app, db, make_zone):
    for _ in range(3):
        make_zone()
    query = select(Zone).order_by(Zone.id)
    with app.test_request_context("/?page=2&per_page=100"):  # the size is the view's, not the URL's
        page = paginate(query, per_page=2)
        assert (len(page.items), page.total, page.pages) == (1, 3, 2)
    with app.test_request_context("/?page=9"):
        assert paginate(query, per_page=2).items == []
    with app.test_request_context("/?page=x"):
        assert paginate(query, per_page=2).page == 1
