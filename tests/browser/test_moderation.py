"""A moderator opens a round's queue, searches, opens an observation and triages it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def queue_round(db, make_round, make_comune, make_referent, make_observation, make_user):
    round_ = make_round()
    referent = make_referent(make_comune("Comune di Rho"))
    make_observation(round_, referent, title="Mobilità ciclabile", body_html="<p>Piste</p>")
    make_observation(round_, referent, title="Verde urbano", body_html="<p>Alberi</p>")
    make_user(Role.MODERATOR, email="moderatrice@example.org", name="Mara Moderatrice")
    make_user(Role.EDITOR, email="redattore@example.org", name="Remo Redattore")
    return round_


def test_search_open_and_triage(page, db, queue_round):
    log_in(page, "moderatrice@example.org", PASSWORD)
    page.goto(f"/rounds/{queue_round.id}/")
    page.get_by_role("link", name="Coda di moderazione").click()
    assert_accessible(page)
    page.get_by_label("Cerca nel titolo, nel testo e negli allegati").fill("mobilita")
    page.get_by_role("button", name="Filtra").click()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Mobilità ciclabile")
    assert_accessible(page)
    rows.first.get_by_role("link").click()
    assert_accessible(page)
    page.get_by_label("Motivo (l'autore lo legge)").fill("Riguarda un altro piano")
    page.get_by_role("button", name="Dichiara non ammissibile").click()
    expect(page.locator(".triage-state")).to_contain_text("non ammissibile")
    assert_accessible(page)

    page.get_by_role("link", name="Etichette").first.click()
    assert_accessible(page)
    page.get_by_label("Nome").fill("Ciclabilità")
    page.get_by_role("button", name="Crea il tema").click()
    page.get_by_role("link", name="Modifica Ciclabilità").click()
    assert_accessible(page)
    page.go_back()
    page.goto(f"/moderation/rounds/{queue_round.id}/queue?q=mobilita")
    page.locator("table.queue tbody tr").first.get_by_role("link").click()
    page.locator("label[for^='tag-']", has_text="Ciclabilità").click()
    page.get_by_role("button", name="Salva le etichette", exact=True).click()
    expect(page.locator(".current-tags")).to_contain_text("Ciclabilità")
    page.get_by_label("Nota interna (solo personale)").fill("Sentire l'ufficio mobilità")
    page.get_by_role("button", name="Aggiungi la nota", exact=True).click()
    expect(page.locator(".internal-note")).to_contain_text("Sentire l'ufficio mobilità")
    assert_accessible(page)

    # Tag both observations at once: preview, then apply (plain forms, no script needed).
    page.goto(f"/moderation/rounds/{queue_round.id}/queue")
    for label in page.locator("table.queue tbody label.form-check-label").all():
        label.click()
    bulk = page.locator("#bulk")
    bulk.get_by_label("Azione", exact=True).select_option("tag")
    bulk.get_by_label("Etichetta (per aggiungerla o toglierla)").select_option(label="Ciclabilità")
    page.get_by_role("button", name="Anteprima").click()
    expect(page.locator(".bulk-summary")).to_contain_text("1 osservazione cambierà")
    assert_accessible(page)
    page.get_by_role("button", name="Applica").click()
    expect(page.locator("main")).to_contain_text("1 osservazione modificata")

    # Every point of the filter's observations: the same preview, then apply.
    assert_accessible(page)  # the queue, with both bulk forms
    of_filter = page.locator("#points-of-filter")
    of_filter.get_by_label("Azione", exact=True).select_option("tag")
    of_filter.get_by_label("Etichetta (per aggiungerla o toglierla)").select_option(
        label="Ciclabilità"
    )
    of_filter.get_by_role("button", name="Verifica e applica").click()
    expect(page.locator(".bulk-summary")).to_contain_text("2 punti cambieranno")
    page.get_by_role("button", name="Applica").click()
    expect(page.locator("main")).to_contain_text("2 punti modificati")

    # Admit the other letter and give its point 1 to a plan editor, who finds it in their list.
    page.goto(f"/moderation/rounds/{queue_round.id}/queue?q=verde")
    page.locator("table.queue tbody tr").first.get_by_role("link").click()
    page.get_by_role("button", name="Ammetti").click()
    page.locator("section.point label.form-check-label", has_text="Remo Redattore").click()
    page.get_by_role("button", name="Salva l'assegnazione").click()
    expect(page.locator(".point-assignees")).to_contain_text("Remo Redattore")
    expect(page.locator(".triage-state")).to_contain_text("assegnata")
    assert_accessible(page)
    page.context.clear_cookies()
    log_in(page, "redattore@example.org", PASSWORD)
    page.get_by_role("link", name="Le mie assegnazioni").first.click()
    expect(page.locator(".my-points")).to_contain_text("/1")
    assert_accessible(page)
    page.context.clear_cookies()
    log_in(page, "moderatrice@example.org", PASSWORD)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"/moderation/rounds/{queue_round.id}/queue")
    # The page's content fits (wide tables scroll inside their own box); the header's account
    # button is the shell's, and is not this page's to fix.
    width = page.evaluate("() => document.querySelector('main').scrollWidth")
    assert width <= 320
