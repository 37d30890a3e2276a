from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import log_in

pytestmark = pytest.mark.browser


def test_a_demo_user_logs_in_and_out(page, demo_data):
    log_in(page, "referente@comune-rho.example", "demo-referente-2026")
    account = page.get_by_role("button", name="Roberto Referente")
    expect(account).to_be_visible()

    account.click()
    page.get_by_role("button", name="Esci", exact=True).click()
    page.wait_for_url("**/login")
    expect(page.get_by_role("heading", name="Accedi")).to_be_visible()
    expect(page.get_by_text("Roberto Referente")).to_have_count(0)


def test_a_wrong_password_shows_one_message(page, demo_data):
    page.goto("/login")
    page.get_by_label("Indirizzo e-mail").fill("referente@comune-rho.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Accedi").click()
    expect(page.get_by_role("alert").filter(has_text="non corretti")).to_be_visible()
