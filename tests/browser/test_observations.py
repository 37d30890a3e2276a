"""A referent selects a passage in the text, writes an observation about it and submits it."""

from __future__ import annotations

import pytest

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
    assert page.locator("mark").inner_text() == quote
    assert_accessible(page)

    page.get_by_label("Titolo").fill("Precisare il passaggio")
    page.get_by_label("La tua osservazione").fill("Chiediamo di precisare meglio.\n\nGrazie.")
    page.get_by_role("button", name="Invia").click()
    page.wait_for_url("**/observations/*/")
    receipt_heading = page.get_by_role("heading", level=1)
    assert f"{open_round.protocol_prefix}-0001" in receipt_heading.inner_text()
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
