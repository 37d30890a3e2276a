from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.notifications.operations import deliver_due
from tests.fixtures.axe import assert_accessible

pytestmark = pytest.mark.browser


def test_a_referent_resets_a_forgotten_password_by_email(page, db, smtp, demo_data):
    page.goto("/login")
    page.get_by_role("link", name="Password dimenticata?").click()
    assert_accessible(page)
    page.get_by_label("Indirizzo e-mail").fill("referente@comune-rho.example")
    page.get_by_role("button", name="Invia il link").click()
    expect(page.get_by_role("status").filter(has_text="Se un account attivo")).to_be_visible()

    assert deliver_due(db.session)["sent"] == 1
    [message] = smtp.inbox.to("referente@comune-rho.example")
    assert message["Subject"] == "Traccia: scegli una nuova password"
    path = re.search(r"http://localhost(/password/reset/\S+)", smtp.inbox.text(message)).group(1)

    page.goto(path)
    assert_accessible(page)
    page.get_by_label("Nuova password", exact=True).fill("una nuova frase segreta")
    page.get_by_label("Ripeti la nuova password").fill("una nuova frase segreta")
    page.get_by_role("button", name="Imposta la password").click()
    page.wait_for_url("**/login")

    page.get_by_label("Indirizzo e-mail").fill("referente@comune-rho.example")
    page.get_by_label("Password").fill("una nuova frase segreta")
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url("**/")
    expect(page.get_by_role("button", name="Roberto Referente")).to_be_visible()
