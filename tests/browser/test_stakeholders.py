"""The registry in the browser: staff pages pass axe, and an invited referent gets in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.accounts.models import User
from app.notifications.operations import deliver_due
from app.stakeholders.models import Organisation
from tests.fixtures.axe import assert_accessible

pytestmark = pytest.mark.browser


def _log_in(page, email="moderatore@traccia.example", password="demo-moderatore-2026"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Indirizzo e-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url("**/")


def test_registry_pages_are_accessible(page, db, demo_data):
    _log_in(page)
    page.get_by_role("link", name="Anagrafe").click()
    page.wait_for_url("**/registry/")
    expect(page.get_by_role("heading", name="Anagrafe degli enti")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Nome o codice ISTAT").fill("015182")
    page.get_by_role("button", name="Filtra").click()
    page.get_by_role("link", name="Comune di Rho").click()
    expect(page.get_by_role("cell", name=re.compile("^Roberto Referente"))).to_be_visible()
    expect(page.get_by_text("Nord Ovest").first).to_be_visible()
    assert_accessible(page)

    rho = db.session.scalar(select(Organisation).where(Organisation.istat_code == "015182"))
    for path in [
        "/registry/?page=2",
        f"/registry/organisations/{rho.id}/edit",
        f"/registry/organisations/{rho.id}/invite",
        "/registry/organisations/new",
        "/registry/invitations",
        "/registry/invitations/bulk",
        "/registry/zones",
        "/registry/groups",
        "/registry/groups/new",
        "/registry/import/zones",
        "/registry/import/organisations",
    ]:
        page.goto(path)
        assert_accessible(page)
    page.goto("/registry/zones")
    page.get_by_role("link", name="Adda Martesana").click()
    expect(page.get_by_role("link", name="Comune di Melzo")).to_be_visible()
    assert_accessible(page)


def test_a_form_with_errors_and_an_import_preview_are_accessible(page, demo_data, tmp_path):
    _log_in(page)
    page.goto("/registry/organisations/new")
    page.get_by_label("Nome", exact=True).fill("Comune di Rho")
    page.get_by_role("button", name="Salva").click()
    field_error = page.locator(".invalid-feedback", has_text="Un altro ente ha già questo nome.")
    expect(field_error).to_be_visible()
    summary = page.locator("#form-errors")
    expect(summary.get_by_role("link", name="Un altro ente ha già questo nome.")).to_be_visible()
    assert_accessible(page)

    sheet = tmp_path / "zone.csv"
    sheet.write_bytes("codice_istat;zona\n015182;Sud Est\n015146;Brianza\n".encode("latin-1"))
    page.goto("/registry/import/zones")
    page.get_by_label("File CSV").set_input_files(str(sheet))
    page.get_by_role("button", name="Anteprima").click()
    expect(page.get_by_text("Zona sconosciuta: “Brianza”")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Importa:"))).to_have_count(0)
    assert_accessible(page)


def test_bulk_invitation_preview_then_send(page, db, smtp, demo_data):
    _log_in(page)
    page.goto("/registry/invitations/bulk")
    page.get_by_label("Invita gli enti di").select_option(label="Zona omogenea Nord Milano")
    page.get_by_role("button", name="Anteprima").click()
    expect(page.get_by_role("cell", name="Comune di Sesto San Giovanni")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Invia 6 inviti").click()
    page.wait_for_url("**/registry/invitations")
    expect(page.get_by_role("status").filter(has_text="6 inviti inviati")).to_be_visible()
    assert_accessible(page)
    assert deliver_due(db.session)["sent"] == 6


def test_an_invited_referent_accepts_and_logs_in(page, browser, live_server, db, smtp, demo_data):
    _log_in(page)
    legnano = db.session.scalar(select(Organisation).where(Organisation.istat_code == "015118"))
    page.goto(f"/registry/organisations/{legnano.id}")
    page.get_by_role("link", name="Invita un referente").click()
    page.get_by_label("Indirizzo e-mail").fill("assessora@comune-legnano.example")
    page.get_by_role("button", name=re.compile("^Invia l.invito$")).click()
    expect(page.get_by_role("status").filter(has_text="È stato inviato un invito")).to_be_visible()
    deliver_due(db.session)
    [message] = smtp.inbox.to("assessora@comune-legnano.example")
    path = re.search(r"http://localhost(/invitation/\S+)", smtp.inbox.text(message)).group(1)

    context = browser.new_context(base_url=live_server.url, locale="it-IT")
    invitee = context.new_page()
    try:
        invitee.goto(path)
        expect(invitee.get_by_text("Comune di Legnano").first).to_be_visible()
        assert_accessible(invitee)
        invitee.get_by_role("button", name="Accetta e imposta la password").click()
        assert_accessible(invitee)  # the errors, announced
        invitee.get_by_label("Il suo nome").fill("Anna Assessora")
        invitee.get_by_label("Nuova password", exact=True).fill("una frase segreta nuova")
        invitee.get_by_label("Ripeti la nuova password").fill("una frase segreta nuova")
        invitee.get_by_role("button", name="Accetta e imposta la password").click()
        invitee.wait_for_url("**/login")
        expect(invitee.get_by_role("status").filter(has_text="Comune di Legnano")).to_be_visible()
        invitee.get_by_label("Indirizzo e-mail").fill("assessora@comune-legnano.example")
        invitee.get_by_label("Password").fill("una frase segreta nuova")
        invitee.get_by_role("button", name="Accedi").click()
        invitee.wait_for_url("**/")
        expect(invitee.get_by_role("button", name="Anna Assessora")).to_be_visible()

        invitee.goto(path)
        expect(invitee.get_by_role("heading", name="Invito non valido")).to_be_visible()
        assert_accessible(invitee)
    finally:
        context.close()
    user = db.session.scalar(select(User).where(User.email == "assessora@comune-legnano.example"))
    assert user.organisation_id == legnano.id
