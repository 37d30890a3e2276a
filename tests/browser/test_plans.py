"""Plans in the browser: reading, editing and diff pages of the demo plan, with axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_LOGINS
from app.plans.demo import SLUG
from tests.fixtures.axe import assert_accessible

pytestmark = pytest.mark.browser


def _log_in_as_editor(page) -> None:
    editor = next(login for login in DEMO_LOGINS if login.email.startswith("editor"))
    page.goto("/login")
    page.locator("input[name=email]").fill(editor.email)
    page.locator("input[name=password]").fill(editor.password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


def test_the_frozen_draft_is_public_and_accessible(page, demo_data):
    page.goto(f"/plans/{SLUG}/v1/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Piano Strategico")
    expect(page.get_by_role("navigation", name="Indice")).to_be_visible()
    assert_accessible(page)
    anchor = page.locator(".plan-permalink").first
    anchor.click()
    expect(page).to_have_url(re.compile(r"#p-"))


def test_the_diff_marks_changes_without_colour_alone(page, demo_data):
    _log_in_as_editor(page)  # version 2 is a draft: staff only
    page.goto(f"/plans/{SLUG}/diff?old=1&new=2")
    expect(page.locator("article.diff-change")).to_have_count(5)
    marker = page.evaluate(
        "() => getComputedStyle(document.querySelector('.diff-text ins'), '::before').content"
    )
    assert "+" in marker
    decoration = page.evaluate(
        "() => getComputedStyle(document.querySelector('.diff-text del')).textDecorationLine"
    )
    assert decoration == "line-through"
    assert_accessible(page)


def test_editing_pages_are_accessible_and_work(page, demo_data):
    _log_in_as_editor(page)
    page.goto(f"/plans/{SLUG}/v2/edit")
    assert_accessible(page)
    page.locator(".plan-edit-outline a").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.locator(".plan-edit-paragraph a", has_text="Modifica").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.locator("textarea[name=html]").fill("Testo <strong>rivisto</strong> nel browser.")
    page.locator("form button[type=submit]", has_text="Salva").click()
    page.wait_for_load_state()
    expect(page.locator(".plan-edit-paragraph strong", has_text="rivisto")).to_have_count(1)
    page.goto(f"/plans/{SLUG}/import")
    assert_accessible(page)
