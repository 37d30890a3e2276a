"""A moderator at a phone's 320 px opens a round's dashboard and its groups, confirms a group and
accepts a suggestion: every page fits, passes axe, and needs no script."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.accounts.models import Role
from app.moderation import grouping, suggestions, tags
from app.plans.demo import SLUG, load_demo_plan
from app.plans.models import Plan
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in
from tests.fixtures.factories import PASSWORD
from tests.moderation.test_groups import ADDED, LETTER

pytestmark = pytest.mark.browser


@pytest.fixture
def workspace_round(
    db, make_round, make_zone, make_comune, make_referent, make_observation, make_user
):
    load_demo_plan(db.session)
    tags.seed_tags(db.session)
    db.session.commit()
    plan = db.session.scalar(select(Plan).where(Plan.slug == SLUG))
    round_ = make_round(version=next(v for v in plan.versions if v.number == 1))
    zone = make_zone("Zona omogenea Nord Ovest con un nome lungo")
    for text in (LETTER, LETTER, ADDED):
        make_observation(
            round_, make_referent(make_comune(zone=zone)), title="Ciclabile sul Naviglio",
            body_html=f"<p>{text}</p>",
        )  # fmt: skip
    moderator = make_user(Role.MODERATOR, email="moderatrice@example.org", name="Mara")
    grouping.detect(db.session, round_, actor=moderator)
    suggestions.suggest_round(db.session, round_, actor=moderator)
    db.session.commit()
    return round_


def _fits(page) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320


def test_dashboard_groups_and_suggestions_on_a_phone(page, db, workspace_round):
    page.set_viewport_size({"width": 320, "height": 640})
    log_in(page, "moderatrice@example.org", PASSWORD)
    page.goto(f"/moderation/rounds/{workspace_round.id}/queue")
    page.get_by_role("link", name="Cruscotto").click()
    expect(page.locator("svg.bar-chart")).to_have_count(5)
    expect(page.locator("#total")).to_have_text("3")
    _fits(page)
    assert_accessible(page)
    page.get_by_role("link", name="Gruppi di osservazioni simili").first.click()
    _fits(page)
    assert_accessible(page)
    page.locator("table.groups tbody a").first.click()
    expect(page.locator("tr.adds-something")).to_have_count(1)
    _fits(page)
    assert_accessible(page)
    page.get_by_role("button", name="Conferma il gruppo").click()
    expect(page.locator(".group-summary")).to_contain_text("confermato")
    page.locator("table.group-members tbody a").first.click()
    _fits(page)
    assert_accessible(page)
    page.locator("li.suggestion").first.get_by_role("button", name="Accetta").click()
    assert page.locator(".alert-success").count() >= 1
    assert_accessible(page)
