"""An editor decides a point, linking it to the words a change inserted, publishes it, and the
author opens "where did my point go" from the e-mail."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.notifications.operations import deliver_due
from app.plans import operations as plans
from app.plans.changes import TextChangeSpan
from app.plans.tree import load_tree
from app.rounds.models import Round
from tests.decisions import conftest as decisions_fixtures
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser

setting = decisions_fixtures.setting  # the decisions tests' fixture


def test_an_editor_decides_and_the_author_traces_it(page, db, setting, make_successor, smtp):
    s = setting(n=1)
    round_ = db.session.get(Round, s.round.id)
    response = make_successor(round_.version)
    round_.response_version_id = response.id
    db.session.commit()
    [(_node, first), *_rest] = load_tree(db.session, response).paragraphs()
    plans.update_paragraph(
        db.session,
        first,
        html=first.text + " Con nuove piste ciclabili.",
        seen_lock=first.lock_version,
    )
    db.session.commit()
    span = db.session.scalars(select(TextChangeSpan)).one()

    log_in(page, s.editor.email, PASSWORD)
    page.goto(f"/decisions/rounds/{s.round.id}/")
    assert_accessible(page)
    page.get_by_role("link", name=s.points[0].label).click()
    assert_accessible(page)
    page.get_by_label("Esito").select_option("accepted")
    page.get_by_label("Controdeduzione (l'autore la legge)").fill(
        "Accolta: il testo prevede ora nuove piste ciclabili."
    )
    box = page.locator(f"input[value='s{span.id}']")
    page.locator(f"label[for='{box.get_attribute('id')}']").click()
    page.get_by_role("button", name="Salva", exact=True).click()
    expect(page.locator("main")).to_contain_text("Decisione salvata")
    page.get_by_role("button", name="Pubblica la decisione").click()
    assert_accessible(page)  # the confirmation page
    page.get_by_role("button", name="Pubblica la decisione").click()
    expect(page.locator(".decision-state")).to_contain_text("pubblicata")

    deliver_due(db.session)
    [message] = smtp.inbox.to(s.author.email)
    link = next(w for w in smtp.inbox.text(message).split() if "/decisions/trace/" in w)
    page.context.clear_cookies()
    log_in(page, s.author.email, PASSWORD)
    page.goto(urlsplit(link).path)
    expect(page.locator("ins").first).to_contain_text("nuove piste ciclabili")
    expect(page.locator(".point-outcome")).to_contain_text("accolta")
    assert_accessible(page)
