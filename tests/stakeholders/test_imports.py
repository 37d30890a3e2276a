"""ISTAT and CSV imports: idempotent, all-or-nothing, every rejected row's problem named."""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.stakeholders.csvfiles import CsvError, read_table
from app.stakeholders.imports import (
    RowAction,
    import_comuni_of_province,
    import_organisations,
    import_zone_assignments,
)
from app.stakeholders.models import Organisation, OrganisationKind
from tests.fixtures.factories import csrf_token

# Reading CSV files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"codice_istat;zona\n015182;Nord Ovest\n",
        "\ufeffcodice_istat,zona\r\n015182,Nord Ovest\r\n".encode(),
        "codice_istat;zona\n015182;Nord Ovest\n".encode("latin-1"),
    ],
    ids=["utf8-semicolon", "bom-comma-crlf", "latin1"],
)
def test_read_table_accepts_excel_and_utf8(raw):
    table = read_table(raw)
    assert table.columns == ["codice_istat", "zona"]
    assert [(row.line, row.values) for row in table.rows] == [
        (2, {"codice_istat": "015182", "zona": "Nord Ovest"})
    ]


def test_read_table_decodes_latin1_and_windows_1252_accents():
    raw = "nome;tipo\nUniversità “Bicocca” — €;università\n".encode("windows-1252")
    assert read_table(raw).rows[0].values["nome"] == "Università “Bicocca” — €"
    raw = "nome;tipo\nForlì;comune\n".encode("latin-1")
    assert read_table(raw).rows[0].values["nome"] == "Forlì"


def test_read_table_keeps_quoted_separators_and_skips_blank_lines():
    raw = b'name,kind\n"Rossi, Bianchi & C.",altro\n\n;;\n'
    table = read_table(raw)
    assert [row.values["name"] for row in table.rows] == ["Rossi, Bianchi & C.", ";;"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "vuoto"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "non è un file di testo"),
        (b"a;b\n" + b"x" * (3 * 1024 * 1024), "troppo grande"),
    ],
)
def test_read_table_refuses_what_is_not_a_csv(raw, message):
    with pytest.raises(CsvError) as error:
        read_table(raw)
    assert message in str(error.value.message)


# The comuni from ISTAT ---------------------------------------------------------------------


def test_import_comuni_is_idempotent_and_says_so(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["orgs", "import-comuni", "--province", "MI"])
    assert first.exit_code == 0, first.output
    assert "133 created" in first.output
    assert db.session.scalar(select(func.count(Organisation.id))) == 133
    rho = db.session.scalar(select(Organisation).where(Organisation.istat_code == "015182"))
    assert rho.name == "Comune di Rho" and rho.kind == OrganisationKind.COMUNE
    entries = db.session.scalar(select(func.count(AuditEntry.id)))

    second = runner.invoke(args=["orgs", "import-comuni", "--province", "mi"])
    assert second.exit_code == 0
    assert "Nothing changed" in second.output
    assert db.session.scalar(select(func.count(Organisation.id))) == 133
    assert db.session.scalar(select(func.count(AuditEntry.id))) == entries


def test_import_comuni_dry_run_writes_nothing(app, db):
    result = app.test_cli_runner().invoke(
        args=["orgs", "import-comuni", "--province", "MI", "--dry-run"]
    )
    assert result.exit_code == 0 and "nothing was written" in result.output
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_import_comuni_gives_its_code_to_a_comune_typed_by_hand(db, make_organisation):
    rho = make_organisation("Comune di Rho")
    import_comuni_of_province(db.session, "MI")
    db.session.commit()
    assert rho.istat_code == "015182"
    assert db.session.scalar(select(func.count(Organisation.id))) == 133


def test_import_comuni_of_an_unknown_province_is_refused(app):
    result = app.test_cli_runner().invoke(args=["orgs", "import-comuni", "--province", "XX"])
    assert result.exit_code != 0 and "XX" in result.output


# Zone assignments --------------------------------------------------------------------------


@pytest.fixture
def zones(make_zone, make_comune):
    nord_ovest, sud_ovest = make_zone("Nord Ovest"), make_zone("Sud Ovest")
    rho = make_comune("Comune di Rho", "015182")
    assago = make_comune("Comune di Assago", "015011")
    return nord_ovest, sud_ovest, rho, assago


def test_zone_assignments_are_applied_and_are_idempotent(db, zones):
    nord_ovest, sud_ovest, rho, assago = zones
    raw = b"codice_istat;zona\n015182;Nord Ovest\n15011;sud ovest\n"
    plan = import_zone_assignments(db.session, raw, apply=True)
    db.session.commit()
    assert plan.applied and plan.counts["update"] == 2
    assert (rho.zone, assago.zone) == (nord_ovest, sud_ovest)  # "15011": Excel lost the zero
    again = import_zone_assignments(db.session, raw, apply=True)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2, "reject": 0}


def test_zone_assignment_problems_are_named_and_nothing_is_written(db, zones):
    _, _, rho, assago = zones
    raw = (
        b"codice_istat;zona\n"
        b"015182;Nord Ovest\n"
        b"015182;Sud Ovest\n"
        b"999999;Nord Ovest\n"
        b"01518X;Nord Ovest\n"
        b"015011;Brianza\n"
        b"015011;\n"
    )
    plan = import_zone_assignments(db.session, raw, apply=True)
    db.session.commit()
    assert not plan.applied
    problems = {row.line: [str(p) for p in row.problems] for row in plan.rows}
    assert problems[2] == []
    assert "ripetuto (anche alla riga 2)" in problems[3][0]
    assert "Nessun comune ha il codice ISTAT 999999" in problems[4][0]
    assert "non è un codice ISTAT" in problems[5][0]
    assert "Zona sconosciuta: “Brianza”" in problems[6][0]
    assert "Manca la zona" in problems[7][-1]
    db.session.expire_all()
    assert rho.zone is None and assago.zone is None  # line 2 was fine, but nothing was written


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("codice_istat;zone_name", "Colonne mancanti: zone"),
        ("codice_istat;zona;note", "Colonne sconosciute: note"),
        ("zona;zona", "Colonne ripetute: zona"),
    ],
)
def test_a_file_with_the_wrong_columns_is_refused_whole(db, zones, header, message):
    plan = import_zone_assignments(db.session, f"{header}\n015182;Nord Ovest\n".encode())
    assert not plan.ok and plan.rows == []
    assert any(message in str(problem) for problem in plan.problems)


# Organisations in bulk ---------------------------------------------------------------------

ORGANISATIONS_CSV = (
    "Nome;Tipo;Codice ISTAT;Zona;PEC;E-mail;Sito web;Tavoli\n"
    "Politecnico di Milano;università;;;pec@cert.polimi.it;;www.polimi.it;Tavolo Università\n"
    "Assolombarda;Associazione di categoria;;;;info@assolombarda.it;;Tavolo metropolitano\n"
    "Comune di Rho;comune;015182;Nord Ovest;comune.rho@pec.regione.lombardia.it;;;\n"
)


def test_organisations_are_created_then_updated(db, zones, make_group):
    university_table, metro_table = (
        make_group("Tavolo Università"),
        make_group("Tavolo metropolitano"),
    )
    _, _, rho, _ = zones
    plan = import_organisations(db.session, ORGANISATIONS_CSV.encode("latin-1"), apply=True)
    db.session.commit()
    assert plan.applied, [(r.line, [str(p) for p in r.problems]) for r in plan.rows]
    assert plan.counts == {"create": 2, "update": 1, "unchanged": 0, "reject": 0}
    polimi = db.session.scalar(
        select(Organisation).where(Organisation.name == "Politecnico di Milano")
    )
    assert polimi.kind == OrganisationKind.UNIVERSITA
    assert polimi.pec == "pec@cert.polimi.it" and polimi.website == "https://www.polimi.it"
    assert polimi.groups == [university_table]
    assert rho.zone.name == "Nord Ovest" and rho.pec == "comune.rho@pec.regione.lombardia.it"
    assolombarda = db.session.scalar(
        select(Organisation).where(Organisation.name == "Assolombarda")
    )
    assert assolombarda.groups == [metro_table]

    again = import_organisations(db.session, ORGANISATIONS_CSV.encode("utf-8-sig"), apply=True)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 3, "reject": 0}


def test_organisation_problems_are_named_row_by_row(db, zones, make_group):
    make_group("Tavolo metropolitano")
    raw = (
        "name,kind,istat_code,zone,pec,email,website,groups\n"
        "Ente Buono,altro,,,,,,\n"
        "Ente Strano,fondazione,,,,,,\n"
        "Università X,universita,015999,,,,,\n"
        "Ente Y,altro,,Nord Ovest,,,,\n"
        "Ente Z,altro,,,not-a-pec,,,\n"
        "Ente W,altro,,,,mario@@example.org,,\n"
        "Ente V,altro,,,,,,Tavolo inesistente\n"
        "Ente Buono,altro,,,,,,\n"
        ",altro,,,,,,\n"
    ).encode()
    plan = import_organisations(db.session, raw, apply=True)
    db.session.commit()
    assert not plan.applied
    problems = {row.line: " ".join(str(p) for p in row.problems) for row in plan.rows}
    assert problems[2] == ""
    assert "Tipologia sconosciuta: “fondazione”" in problems[3]
    assert "Solo un comune ha un codice ISTAT" in problems[4]
    assert "Solo un comune appartiene a una zona omogenea" in problems[5]
    assert "Indirizzo PEC non valido: “not-a-pec”" in problems[6]
    assert "Indirizzo e-mail non valido: “mario@@example.org”" in problems[7]
    assert "Tavolo sconosciuto: “Tavolo inesistente”" in problems[8]
    assert "Nome ripetuto (anche alla riga 2)" in problems[9]
    assert "Manca il nome" in problems[10]
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Ente Buono")) is None


def test_an_istat_code_already_in_the_file_is_a_duplicate(db, zones):
    raw = "name;kind;istat_code\nComune di Rho;comune;015182\nComune di Rho bis;comune;015182\n"
    plan = import_organisations(db.session, raw.encode())
    assert plan.rows[1].action == RowAction.REJECT
    assert "Codice ISTAT 015182 ripetuto" in str(plan.rows[1].problems[0])


# Through the web ---------------------------------------------------------------------------


def _upload(client, path, content: bytes, filename="file.csv"):
    token = csrf_token(client, path)
    return client.post(
        path,
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_web_import_previews_then_applies(db, staff_client, zones):
    client, moderator = staff_client
    _, _, rho, _ = zones
    raw = "codice_istat;zona\n015182;Nord Ovest\n".encode("latin-1")
    preview = _upload(client, "/registry/import/zones", raw)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Comune di Rho" in page and "Nord Ovest" in page and "Da aggiornare" in page
    db.session.expire_all()
    assert rho.zone is None  # the preview wrote nothing

    content = re.search(r'name="apply-content" value="([^"]*)"', page).group(1)
    token = re.search(r'id="apply-csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post(
        "/registry/import/zones",
        data={"apply-csrf_token": token.group(1), "apply-content": html.unescape(content)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert rho.zone.name == "Nord Ovest"
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "registry.zones_imported")
    ).one()
    assert entry.actor_id == moderator.id and entry.details["update"] == 1


def test_web_import_with_rejected_rows_shows_them_and_offers_no_import(db, staff_client, zones):
    client, _ = staff_client
    response = _upload(client, "/registry/import/zones", b"codice_istat;zona\n015182;Brianza\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Zona sconosciuta" in page and "apply-content" not in page


def test_web_import_refuses_a_binary_file(staff_client):
    client, _ = staff_client
    response = _upload(client, "/registry/import/organisations", b"\x00\x01\x02PK", "x.xlsx")
    assert response.status_code == 422
    assert "non è un file di testo" in response.get_data(as_text=True)
