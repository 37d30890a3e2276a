"""What works without JavaScript: the account menu's entries (logging out) and the confirmation
of an irreversible action, which is a page of its own with or without a script."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_LOGINS
from app.plans.demo import SLUG
from app.plans.models import Plan, VersionStatus
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in

pytestmark = pytest.mark.browser

EDITOR = next(login for login in DEMO_LOGINS if login.email.startswith("editor"))


@pytest.fixture
def no_script(browser, live_server, demo_data):
    context = browser.new_context(
        base_url=live_server.url, locale="it-IT", java_script_enabled=False
    )
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_logging_out_without_javascript(no_script):
    log_in(no_script, "referente@comune-rho.example", "demo-referente-2026")
    expect(no_script.locator("#account-menu-button")).not_to_be_visible()
    no_script.get_by_role("link", name="Cambia password").wait_for(state="visible")
    no_script.get_by_role("button", name="Esci", exact=True).click()
    no_script.wait_for_url("**/login")
    no_script.goto("/observations/mine")
    assert "/login" in no_script.url


def test_logging_out_everywhere_asks_first_without_javascript(no_script):
    log_in(no_script, "referente@comune-rho.example", "demo-referente-2026")
    no_script.get_by_role("button", name="Esci da tutti i dispositivi").click()
    # what it does, before doing it (expect waits for the question page to load)
    expect(no_script.get_by_text("compreso questo")).to_be_visible()
    no_script.locator("main").get_by_role("button", name="Esci da tutti i dispositivi").click()
    no_script.wait_for_url("**/login")
    no_script.goto("/observations/mine")
    assert "/login" in no_script.url


def test_the_account_menu_with_javascript_keeps_its_dropdown(page, demo_data):
    log_in(page, "referente@comune-rho.example", "demo-referente-2026")
    # the dropdown's entries, not twice (the no-script ones stay out of the page)
    expect(page.locator("button", has_text=re.compile(r"^\s*Esci\s*$"))).to_have_count(1)
    expect(page.locator("button", has_text="Esci da tutti i dispositivi")).to_have_count(1)
    page.locator("#account-menu-button").click()
    page.get_by_role("button", name="Esci", exact=True).click()
    page.wait_for_url("**/login")


def test_freezing_asks_on_a_page_of_its_own(page, db, demo_data):
    log_in(page, EDITOR.email, EDITOR.password)
    page.goto(f"/plans/{SLUG}/")
    page.get_by_role("button", name="Congela").click()
    page.get_by_role("heading", level=1, name="Congelare la versione 2").wait_for()
    expect(page.get_by_text("Questa azione non si può annullare.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Annulla, non cambiare nulla").click()
    page.wait_for_url(f"**/plans/{SLUG}/")
    db.session.expire_all()
    plan = db.session.query(Plan).filter_by(slug=SLUG).one()
    assert plan.versions[-1].status is VersionStatus.DRAFT

    page.get_by_role("button", name="Congela").click()
    page.get_by_role("button", name="Congela la versione").click()
    page.wait_for_url(f"**/plans/{SLUG}/")
    db.session.expire_all()
    assert plan.versions[-1].status is VersionStatus.FROZEN


def test_freezing_without_javascript(no_script, db):
    log_in(no_script, EDITOR.email, EDITOR.password)
    no_script.goto(f"/plans/{SLUG}/")
    no_script.get_by_role("button", name="Congela").click()
    no_script.get_by_role("button", name="Congela la versione").click()
    no_script.wait_for_url(f"**/plans/{SLUG}/")
    db.session.expire_all()
    plan = db.session.query(Plan).filter_by(slug=SLUG).one()
    assert plan.versions[-1].status is VersionStatus.FROZEN
