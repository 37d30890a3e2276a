from __future__ import annotations

import pytest

from tests.fixtures.browser import log_in

pytestmark = pytest.mark.browser


def test_a_demo_user_logs_in_and_out(page, demo_data):
    log_in(page, "referente@comune-rho.example", "demo-referente-2026")
    account = page.get_by_role("button", name="Roberto Referente")
    assert account.is_visible()

    account.click()
    page.get_by_role("button", name="Esci", exact=True).click()
    page.wait_for_url("**/login")
    assert page.get_by_role("heading", name="Accedi").is_visible()
    assert page.get_by_text("Roberto Referente").count() == 0


def test_a_wrong_password_shows_one_message(page, demo_data):
    page.goto("/login")
    page.get_by_label("Indirizzo e-mail").fill("referente@comune-rho.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Accedi").click()
    assert page.get_by_role("alert").filter(has_text="non corretti").is_visible()
