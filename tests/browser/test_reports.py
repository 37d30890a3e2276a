"""The traceability report in the browser: axe on each of its pages, then every download a
moderator can take — CSV, JSON Lines and ODS straight away, the PDF/A and ODT annex once the
worker has made them, the page showing it in place — each read back."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from app.reports import jobs
from tests.fixtures.axe import assert_accessible
from tests.fixtures.browser import log_in
from tests.fixtures.factories import PASSWORD
from tests.reports import conftest as reports_fixtures

pytestmark = pytest.mark.browser

scene = reports_fixtures.scene  # the reports tests' fixture


def _download(page, name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=name, exact=True).click()
    return open(info.value.path(), "rb").read()


def _annex(page, db, label: str) -> bytes:
    page.get_by_label("Formato").select_option(label=label)
    page.get_by_role("button", name="Produci l'allegato").click()
    expect(page.locator(".alert-success")).to_contain_text("in preparazione")
    row = page.locator("tr.annex-job").first
    expect(row).to_contain_text("in attesa di elaborazione")
    jobs.run_due(db.session, worker="browser-test")
    link = row.get_by_role("link", name="Scarica")
    expect(link).to_be_visible(timeout=15_000)  # shown in place by the page's script
    expect(row.locator(".annex-job-state")).to_contain_text("pronto")
    with page.expect_download() as info:
        link.click()
    return open(info.value.path(), "rb").read()


def test_every_report_page_is_accessible_and_every_format_downloads(
    page, db, app, scene, make_successor, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "EXPORTS_DIR", str(tmp_path))
    _change, key = reports_fixtures.respond(db, make_successor, scene)
    round_id = scene.round.id
    log_in(page, scene.moderator.email, PASSWORD)
    for path in ("", "statistics", "sections/", f"sections/{key}", "observations/1", "exports/"):
        page.goto(f"/reports/rounds/{round_id}/{path}")
        expect(page.locator(".report-draft-mark").first).to_be_visible()
        assert_accessible(page)

    rows = list(csv.DictReader(io.StringIO(_download(page, "CSV").decode("utf-8-sig"))))
    assert [r["protocol"] for r in rows] == [o.protocol_code for o in scene.observations]
    lines = _download(page, "JSON Lines").decode().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["reasoning"] == "Accolta: integrata."
    ods = zipfile.ZipFile(io.BytesIO(_download(page, "ODS")))
    assert b"Accolta: integrata." in ods.read("content.xml")

    pdf = PdfReader(io.BytesIO(_annex(page, db, "Allegato (PDF/A)")))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert scene.observations[0].protocol_code in text and "Accolta: integrata." in text
    assert_accessible(page)
    odt = zipfile.ZipFile(io.BytesIO(_annex(page, db, "Allegato da modificare (ODT)")))
    assert b"Accolta: integrata." in odt.read("content.xml")
    width = page.evaluate("() => document.querySelector('main').scrollWidth")
    assert width <= page.viewport_size["width"]
