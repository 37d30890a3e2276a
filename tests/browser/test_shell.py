"""The page shell in the browser: Bootstrap Italia, the language switch, and axe on every page
of the foundation, in both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    "/",
    "/login",
    "/password/forgot",
    "/privacy",
    "/no-such-page",
    "/password/reset/not-a-valid-token",
]


def _switch_language(page, code: str) -> None:
    page.locator(f".language-switch button[value={code}]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["it", "en"])
def test_public_pages_are_accessible(page, language):
    page.goto("/")
    if language != "it":
        _switch_language(page, language)
    for path in PUBLIC_PAGES:
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == language
        assert_accessible(page)


@pytest.mark.parametrize("language", ["it", "en"])
def test_error_pages_are_accessible(page, live_server, language):
    page.goto("/")
    if language != "it":
        _switch_language(page, language)
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert_accessible(page)
    response = page.goto("/admin/users/", wait_until="load")  # login first: a redirect
    assert page.url.endswith("/login?next=/admin/users/")
    assert_accessible(page)


def test_bootstrap_italia_is_loaded(page):
    page.goto("/")
    assert page.evaluate("() => window.BOOTSTRAP_ITALIA_VERSION") == "2.18.3"
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "Titillium Web" in font


def test_language_switch_keeps_the_page(page):
    page.goto("/password/forgot")
    expect(page.get_by_role("heading", name="Password dimenticata?")).to_be_visible()
    _switch_language(page, "en")
    expect(page).to_have_url(re.compile(r"/password/forgot$"))
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    _switch_language(page, "it")
    expect(page.get_by_role("heading", name="Password dimenticata?")).to_be_visible()


def test_skip_link_moves_to_the_content(page):
    page.goto("/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Vai al contenuto")
    assert skip.evaluate("element => element === document.activeElement")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


def test_navigation_collapses_on_small_screens(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto("/")
    menu_link = page.locator("#main-menu").get_by_role("link", name="Home")
    expect(menu_link).not_to_be_visible()
    page.get_by_role("button", name="Mostra o nascondi la navigazione").click()
    menu_link.wait_for(state="visible")
    assert_accessible(page)
    context.close()


def test_logged_in_admin_pages_are_accessible(page, demo_data):
    log_in(page, "admin@traccia.example", "demo-admin-2026")
    for path in [
        "/",
        "/account/password",
        "/admin/users/",
        "/admin/users/new",
        "/admin/outbox/",
        "/admin/outbox/?status=failed",
        "/admin/api-tokens/",
        "/admin/audit/",
        "/admin/audit/?user=nobody@example.org&since=ieri&action=round.open",
    ]:
        page.goto(path)
        assert_accessible(page)
    page.goto("/admin/users/")
    page.get_by_role("link", name="Roberto Referente").click()
    assert_accessible(page)


def test_a_refused_page_explains_itself_accessibly(page, demo_data):
    log_in(page, "referente@comune-rho.example", "demo-referente-2026")
    response = page.goto("/admin/users/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Accesso negato")).to_be_visible()
    assert_accessible(page)
