"""One way every list pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.pagination import MAX_PAGE, page_number, paginate
from app.stakeholders.models import Zone


@pytest.mark.parametrize(
    ("raw", "page"),
    [("", 1), ("3", 3), ("0", 1), ("-2", 1), ("x", 1), ("1e3", 1), ("99999999999999", 1),
     (str(MAX_PAGE + 5), MAX_PAGE)],
)  # fmt: skip
def test_the_page_number_is_bounded(app, raw, page):
    with app.test_request_context(f"/?page={raw}"):
        assert page_number() == page


def test_a_page_past_the_end_is_empty_not_an_error(app, db, make_zone):
    for _ in range(3):
        make_zone()
    query = select(Zone).order_by(Zone.id)
    with app.test_request_context("/?page=2"):
        page = paginate(query, per_page=2)
        assert (len(page.items), page.total, page.pages) == (1, 3, 2)
    with app.test_request_context("/?page=9"):
        assert paginate(query, per_page=2).items == []
