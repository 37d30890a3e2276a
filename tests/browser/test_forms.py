"""A refused form in the browser: focus lands on the error summary, which names every missing
field and links to it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.rounds.demo import PREFIX
from app.rounds.models import Round
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in

pytestmark = pytest.mark.browser


def test_an_empty_submit_focuses_the_summary_that_links_each_field(page, db, demo_data):
    round_id = db.session.scalar(select(Round.id).where(Round.protocol_prefix == PREFIX))
    log_in(page, "referente@comune-rho.example", "demo-referente-2026")
    page.goto(f"/rounds/{round_id}/observations/new")
    page.get_by_role("button", name="Invia").click()
    page.wait_for_load_state()
    summary = page.locator("#form-errors")
    summary.wait_for(state="visible")
    assert page.evaluate("() => document.activeElement.id") == "form-errors"
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    for index in range(links.count()):
        target = links.nth(index).get_attribute("href")
        expect(page.locator(target), target).to_have_count(1)
    assert_accessible(page)
    links.nth(1).click()
    expect(page).to_have_url(re.compile(r"#body$"))
    assert page.evaluate("() => document.activeElement.id") == "body"  # the field has focus
