"""A moderator splits a letter into three points, tags them in bulk, gives them to a plan
editor, redacts a name; after the close the public list shows the points, redacted (320 px)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.core.db import utcnow
from app.moderation import tags
from app.rounds import operations as rounds
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser

LETTER = (
    "<p>Il Comune chiede piste ciclabili lungo il Naviglio. Lo segnala Mario Rossi. "
    "Chiede anche nuovi parcheggi alla stazione. Infine propone un tavolo sulla zona.</p>"
)


@pytest.fixture
def letter(db, make_round, make_comune, make_referent, make_observation, make_user):
    round_ = make_round()
    referent = make_referent(make_comune("Comune di Rho"))
    observation = make_observation(round_, referent, title="Lettera", body_html=LETTER)
    make_user(Role.MODERATOR, email="moderatrice@example.org", name="Mara Moderatrice")
    make_user(Role.EDITOR, email="redattore@example.org", name="Remo Redattore")
    tags.create_theme(db.session, name="Mobilità", colour="teal", actor=None)
    db.session.commit()
    return observation


def test_split_tag_assign_redact_and_publish(page, db, letter):
    log_in(page, "moderatrice@example.org", PASSWORD)
    page.goto(f"/moderation/observations/{letter.id}")
    page.get_by_role("button", name="Ammetti").click()
    page.get_by_role("link", name="Dividi in punti").click()
    assert_accessible(page)
    for sentence, row in ((1, "2"), (2, "2"), (3, "3"), (4, "4")):
        page.get_by_label(f"Riga di punto per la frase {sentence}", exact=True).select_option(row)
    page.get_by_role("button", name="Salva la divisione").click()
    assert_accessible(page)  # retiring point 1 asks first
    page.get_by_role("button", name="Dividi e ritira").click()
    points = page.locator("section.point h3")
    code = letter.protocol_code
    assert points.all_inner_texts() == [f"{code}/2", f"{code}/3", f"{code}/4"]
    assert_accessible(page)

    # Tag the three at once, then give them to the editor at once.
    for number in (2, 3, 4):
        page.locator("label.form-check-label", has_text=f"Seleziona {code}/{number} ").click()
    page.get_by_label("Azione", exact=True).select_option("tag")
    page.get_by_label("Etichetta (per aggiungerla o toglierla)").select_option(label="Mobilità")
    page.get_by_role("button", name="Verifica e applica").click()
    expect(page.locator(".bulk-summary")).to_contain_text("3 punti cambieranno")
    assert_accessible(page)
    page.get_by_role("button", name="Applica").click()
    expect(page.locator(".point-tags", has_text="Mobilità")).to_have_count(3)
    for number in (2, 3, 4):
        page.locator("label.form-check-label", has_text=f"Seleziona {code}/{number} ").click()
    page.get_by_label("Azione", exact=True).select_option("assign")
    page.locator("#points-bulk label.form-check-label", has_text="Remo Redattore").click()
    page.get_by_role("button", name="Verifica e applica").click()
    page.get_by_role("button", name="Applica").click()
    expect(page.locator(".point-assignees", has_text="Remo Redattore")).to_have_count(3)
    expect(page.locator(".triage-state")).to_contain_text("assegnata")

    # Redact the name; after the close the public reads [omissis] there.
    page.get_by_role("link", name="Pubblicazione e oscuramento").click()
    page.get_by_label("Il passo, copiato dall'originale").fill("Mario Rossi")
    page.get_by_label("Motivo (solo per il personale)").first.fill("Dati personali")
    page.get_by_role("button", name="Oscura", exact=True).click()
    expect(page.locator(".public-text")).to_contain_text("[omissis]")
    expect(page.locator(".original-text")).to_contain_text("Mario Rossi")
    assert_accessible(page)
    rounds.change_state(db.session, letter.round, "close", actor=None, now=utcnow())
    db.session.commit()
    page.context.clear_cookies()
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"/published/rounds/{letter.round_id}")
    published = page.locator(".published-point")
    expect(published).to_have_count(3)
    expect(published.first).to_contain_text("Lo segnala [omissis].")
    expect(page.locator("main")).not_to_contain_text("Mario Rossi")
    expect(published.first).to_contain_text("Comune di Rho")
    assert_accessible(page)
    width = page.evaluate("() => document.querySelector('main').scrollWidth")
    assert width <= 320
