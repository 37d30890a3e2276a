"""A referent selects a passage in the text, writes an observation about it and submits it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.observations.models import Observation, Target
from app.plans.tree import load_tree
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def open_round(db, make_round, make_comune, make_user):
    round_ = make_round()
    comune = make_comune("Comune di Rho")
    make_user(Role.STAKEHOLDER, organisation=comune, email="rho@example.org", name="Rita Rho")
    return round_


def test_select_a_passage_write_and_submit(page, db, open_round):
    log_in(page, "rho@example.org", PASSWORD)
    page.goto(f"/rounds/{open_round.id}/")
    assert_accessible(page)
    tree = load_tree(db.session, open_round.version)
    node = tree.roots[0]
    paragraph = node.paragraphs[0]
    page.get_by_role("link", name=f"{node.section.number} {node.section.title}").first.click()
    assert_accessible(page)

    # Select two words of the first paragraph, as a reader would with the mouse.
    words = paragraph.text.split()[:2]
    quote = " ".join(words)
    page.evaluate(
        """([key, quote]) => {
            const element = document.querySelector(`[data-paragraph-key="${key}"] p`)
                || document.querySelector(`[data-paragraph-key="${key}"]`);
            const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
            const node = walker.nextNode();
            const start = node.textContent.indexOf(quote);
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, start + quote.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        [paragraph.key, quote],
    )
    button = page.get_by_role("link", name="Commenta il passaggio selezionato")
    button.wait_for(state="visible")
    button.click()
    page.wait_for_url("**/observations/new?**")
    expect(page.locator("mark")).to_have_text(quote)
    assert_accessible(page)

    page.get_by_label("Titolo").fill("Precisare il passaggio")
    page.get_by_label("La tua osservazione").fill("Chiediamo di precisare meglio.\n\nGrazie.")
    page.get_by_role("button", name="Invia").click()
    page.wait_for_url("**/observations/*/")
    receipt_heading = page.get_by_role("heading", level=1)
    expect(receipt_heading).to_contain_text(f"{open_round.protocol_prefix}-0001")
    assert page.locator(".verification-code").inner_text()
    assert_accessible(page)

    observation = db.session.query(Observation).one()
    assert observation.target is Target.PASSAGE
    assert observation.quote_text == quote
    assert paragraph.text[observation.quote_start : observation.quote_end] == quote

    page.goto("/observations/mine")
    assert_accessible(page)
    page.goto("/track")
    assert_accessible(page)


def test_staff_pages_are_accessible(page, db, open_round, make_user):
    make_user(Role.MODERATOR, email="mod@example.org")
    log_in(page, "mod@example.org", PASSWORD)
    for path in [
        "/rounds/",
        "/rounds/new",
        f"/rounds/{open_round.id}/",
        f"/rounds/{open_round.id}/edit",
        f"/rounds/{open_round.id}/intake",
    ]:
        page.goto(path)
        assert_accessible(page)


def test_choose_a_passage_with_the_keyboard_only(page, db, open_round):
    log_in(page, "rho@example.org", PASSWORD)
    tree = load_tree(db.session, open_round.version)
    node = tree.roots[0]
    paragraph = node.paragraphs[0]
    quote = " ".join(paragraph.text.split()[1:3])
    page.goto(f"/rounds/{open_round.id}/s/{node.section.key}")
    help_text = page.locator("#selection-help").inner_text()
    assert "Commenta questo paragrafo" in help_text
    link = page.get_by_role("link", name="Commenta questo paragrafo").first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/observations/new?**")
    page.get_by_label("Parole citate (facoltativo)").focus()
    page.keyboard.type(quote)
    page.keyboard.press("Tab")
    page.keyboard.type("Un passaggio preciso")
    page.get_by_label("La tua osservazione").focus()
    page.keyboard.type("Va chiarito.")
    assert_accessible(page)
    page.get_by_role("button", name="Invia").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/observations/*/")
    expect(page.locator("mark")).to_have_text(quote)
    observation = db.session.query(Observation).one()
    assert observation.target is Target.PASSAGE and observation.quote_text == quote


def test_without_javascript_the_help_promises_no_selection_button(
    browser, live_server, open_round, db
):
    context = browser.new_context(
        base_url=live_server.url, locale="it-IT", java_script_enabled=False
    )
    page = context.new_page()
    log_in(page, "rho@example.org", PASSWORD)
    node = load_tree(db.session, open_round.version).roots[0]
    page.goto(f"/rounds/{open_round.id}/s/{node.section.key}")
    help_text = page.locator("#selection-help").inner_text()
    assert "Commenta questo paragrafo" in help_text
    assert "selezionare" not in help_text  # the mouse's way needs the script
    context.close()
