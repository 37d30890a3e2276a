"""Importing real-world and hostile DOCX/ODT files: every word kept once, odd values read
safely, sizes bounded, and anything unreadable refused with a message instead of an error page."""

from __future__ import annotations

import io
import logging
import zipfile

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.plans import importers
from app.plans.models import PlanImport
from tests.fixtures.factories import csrf_token
from tests.plans.test_import import make_docx, make_odt

FIRST = b"Semplificare procedure e accesso ai servizi."


def replace_in_part(data: bytes, part: str, old: bytes, new: bytes) -> bytes:
    """The archive with ``old`` replaced by ``new`` (once) in one of its parts."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == part:
                assert old in content, f"{old!r} not in {part}"
                content = content.replace(old, new, 1)
            archive.writestr(info, content)
    return buffer.getvalue()


def docx_with(old: bytes, new: bytes, data: bytes | None = None) -> bytes:
    return replace_in_part(data or make_docx(), "word/document.xml", old, new)


def odt_with(old: bytes, new: bytes) -> bytes:
    return replace_in_part(make_odt(), "content.xml", old, new)


def first_paragraphs(app, data: bytes) -> list[dict]:
    with app.test_request_context():
        _format, sections = importers.parse(data)
    return sections[0]["paragraphs"]


def docx_table(rows: str) -> bytes:
    """A DOCX whose first section holds one table with the given ``<w:tr>`` rows."""
    return docx_with(
        b"<w:p><w:r><w:t>" + FIRST + b"</w:t></w:r></w:p>",
        b"<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>"
        + rows.encode()
        + b"</w:tbl>",
    )


def tc(text: str, props: str = "") -> str:
    return f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


# Every word once -----------------------------------------------------------------------------

TRACKED = (
    b'<w:r><w:t xml:space="preserve">Semplificare </w:t></w:r>'
    b'<w:ins w:id="1" w:author="A"><w:r><w:t xml:space="preserve">davvero </w:t></w:r></w:ins>'
    b'<w:del w:id="2" w:author="A"><w:r><w:delText xml:space="preserve">forse </w:delText>'
    b"</w:r></w:del>"
    b'<w:smartTag w:uri="u" w:element="place"><w:r><w:t xml:space="preserve">le </w:t></w:r>'
    b"</w:smartTag>"
    b'<w:fldSimple w:instr="DATE"><w:r><w:t xml:space="preserve">procedure </w:t></w:r>'
    b"</w:fldSimple>"
    b'<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
    b"<w:sdt><w:sdtPr/><w:sdtContent><w:r><w:t>e i servizi.</w:t></w:r></w:sdtContent></w:sdt>"
)


def test_docx_runs_inside_tracked_insertions_tags_fields_and_controls_are_kept(app):
    data = docx_with(b"<w:r><w:t>" + FIRST + b"</w:t></w:r>", TRACKED)
    paragraph = first_paragraphs(app, data)[0]
    assert paragraph["text"] == "Semplificare davvero le procedure e i servizi."


def test_docx_paragraphs_inside_content_controls_are_kept_in_order(app):
    data = docx_with(
        b"<w:p><w:r><w:t>" + FIRST + b"</w:t></w:r></w:p>",
        b"<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>" + FIRST + b"</w:t></w:r></w:p>"
        b"<w:customXml w:element='x'><w:p><w:r><w:t>Nel modulo.</w:t></w:r></w:p></w:customXml>"
        b"</w:sdtContent></w:sdt>",
    )
    texts = [p["text"] for p in first_paragraphs(app, data)]
    assert texts == [FIRST.decode(), "Nel modulo.", "Ridurre la burocrazia & i tempi."]


def test_docx_merged_cells_appear_once_with_their_spans(app):
    data = docx_table(
        "<w:tr>" + tc("Top", '<w:gridSpan w:val="2"/>') + "</w:tr>"
        "<w:tr>" + tc("Left", '<w:vMerge w:val="restart"/>') + tc("b") + "</w:tr>"
        "<w:tr>"
        "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>" + tc("c") + "</w:tr>"
    )
    table = first_paragraphs(app, data)[0]
    assert table["html"] == (
        '<table><tbody><tr><td colspan="2">Top</td></tr>'
        '<tr><td rowspan="2">Left</td><td>b</td></tr>'
        "<tr><td>c</td></tr></tbody></table>"
    )
    assert table["text"] == "Top Left b c"


def test_docx_made_with_python_docx_merges_keeps_each_text_once(app):
    import docx

    document = docx.Document()
    document.add_heading("1 Titolo", level=1)
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Intestazione unita"
    for column, text in enumerate("abc"):
        table.cell(1, column).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    paragraph = first_paragraphs(app, buffer.getvalue())[0]
    assert paragraph["text"] == "Intestazione unita a b c"
    assert '<td colspan="3">Intestazione unita</td>' in paragraph["html"]


def test_odt_merged_cells_appear_once_with_their_spans(app):
    data = odt_with(
        b"<text:p>" + FIRST + b"</text:p>",
        b'<table:table table:name="T"><table:table-column table:number-columns-repeated="2"/>'
        b'<table:table-row><table:table-cell table:number-columns-spanned="2">'
        b"<text:p>Top</text:p></table:table-cell><table:covered-table-cell/></table:table-row>"
        b'<table:table-row><table:table-cell table:number-rows-spanned="x"><text:p>a</text:p>'
        b"</table:table-cell><table:table-cell><text:p>b</text:p></table:table-cell>"
        b"</table:table-row></table:table>",
    )
    table = first_paragraphs(app, data)[0]
    assert table["html"] == (
        '<table><tbody><tr><td colspan="2">Top</td></tr>'
        "<tr><td>a</td><td>b</td></tr></tbody></table>"
    )


# Odd values read safely ----------------------------------------------------------------------


def test_odt_malformed_numbers_are_read_with_their_defaults(app):
    data = odt_with(b"Semplificare procedure", b'Semplificare<text:s text:c="x"/>procedure')
    data = replace_in_part(
        data, "content.xml", b'text:outline-level="1"', b'text:outline-level="uno"'
    )
    with app.test_request_context():
        _format, sections = importers.parse(data)
    assert sections[0]["level"] == 1
    assert sections[0]["paragraphs"][0]["text"] == FIRST.decode()


def test_docx_link_to_a_missing_relationship_keeps_its_text(app):
    data = docx_with(
        b"<w:r><w:t>" + FIRST + b"</w:t></w:r>",
        b'<w:hyperlink r:id="rId999"><w:r><w:t xml:space="preserve">Vedi: </w:t></w:r>'
        b"</w:hyperlink><w:r><w:t>" + FIRST + b"</w:t></w:r>",
    )
    paragraph = first_paragraphs(app, data)[0]
    assert paragraph["text"] == "Vedi: " + FIRST.decode()
    assert "<a" not in paragraph["html"]


def test_docx_continued_vertical_merge_in_the_first_row_is_a_plain_cell(app):
    data = docx_table("<w:tr>" + tc("a", "<w:vMerge/>") + tc("b") + "</w:tr>")
    assert first_paragraphs(app, data)[0]["html"] == (
        "<table><tbody><tr><td>a</td><td>b</td></tr></tbody></table>"
    )


def test_docx_bold_switched_off_is_not_bold(app):
    data = docx_with(
        b"<w:r><w:t>" + FIRST + b"</w:t></w:r>",
        b'<w:r><w:rPr><w:b w:val="0"/><w:i w:val="maybe"/></w:rPr><w:t>' + FIRST + b"</w:t></w:r>",
    )
    assert first_paragraphs(app, data)[0]["html"] == "<em>" + FIRST.decode() + "</em>"


# Sizes bounded -------------------------------------------------------------------------------


def test_odt_repeated_spaces_are_capped(app):
    data = odt_with(b"Semplificare procedure", b'Semplificare<text:s text:c="300000000"/>procedure')
    paragraph = first_paragraphs(app, data)[0]
    assert paragraph["text"] == FIRST.decode()
    assert len(paragraph["html"]) <= len(FIRST) + importers.MAX_REPEAT


def test_docx_huge_column_span_is_capped(app):
    data = docx_table("<w:tr>" + tc("a", '<w:gridSpan w:val="2000000"/>') + "</w:tr>")
    html = first_paragraphs(app, data)[0]["html"]
    assert (
        html
        == f'<table><tbody><tr><td colspan="{importers.MAX_COLSPAN}">a</td></tr></tbody></table>'
    )


@pytest.mark.parametrize("maker", [make_docx, make_odt], ids=["docx", "odt"])
def test_a_text_part_with_too_many_elements_is_refused(app, monkeypatch, maker):
    monkeypatch.setattr(importers, "MAX_XML_ELEMENTS", 10)
    with app.test_request_context(), pytest.raises(importers.ImportError_, match="complesso"):
        importers.parse(maker())


def test_an_archive_expanding_beyond_the_limit_is_refused(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/zeros.bin", bytes(importers.MAX_UNCOMPRESSED_BYTES + 1))
    assert len(buffer.getvalue()) < 1024 * 1024
    with app.test_request_context(), pytest.raises(importers.ImportError_, match="troppo grande"):
        importers.parse(buffer.getvalue())


@pytest.mark.parametrize(
    ("limit", "value"),
    [("MAX_PARAGRAPHS", 3), ("MAX_TEXT_CHARS", 60), ("MAX_SECTIONS", 2)],
)
def test_a_document_over_the_text_limits_is_refused(app, monkeypatch, limit, value):
    monkeypatch.setattr(importers, limit, value)
    with app.test_request_context(), pytest.raises(importers.ImportError_, match="troppo lungo"):
        importers.parse(make_docx())


# Refused with a message, nothing saved -------------------------------------------------------


@pytest.fixture
def upload(logged_in, make_plan):
    client, _user = logged_in(Role.EDITOR)
    plan = make_plan()

    def post(data: bytes):
        token = csrf_token(client, f"/plans/{plan.slug}/import")
        return client.post(
            f"/plans/{plan.slug}/import",
            data={
                "csrf_token": token,
                "label": "Bozza",
                "predecessor": "0",
                "file": (io.BytesIO(data), "testo.bin"),
            },
            content_type="multipart/form-data",
        )

    return post


@pytest.mark.parametrize("file_format", ["docx", "odt"])
def test_a_file_that_breaks_the_reader_is_refused_and_logged_without_its_content(
    db, upload, monkeypatch, caplog, file_format
):
    secret = "Testo riservato del documento"

    def broken(data):
        raise ValueError(secret)

    monkeypatch.setattr(importers, f"parse_{file_format}", broken)
    data = make_docx() if file_format == "docx" else make_odt()
    with caplog.at_level(logging.WARNING, logger="app.plans.importers"):
        response = upload(data)
    assert response.status_code == 422
    assert "danneggiato o usa funzioni" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PlanImport.id))) == 0
    assert "ValueError" in caplog.text and file_format in caplog.text
    assert "riservato" not in caplog.text


@pytest.mark.parametrize(
    "data",
    [
        odt_with(b"Semplificare procedure", b'Semplificare<text:s text:c="x"/>procedure'),
        docx_with(
            b"<w:r><w:t>Semplificare",
            b'<w:hyperlink r:id="rId999"><w:r><w:t>x</w:t></w:r></w:hyperlink>'
            b"<w:r><w:t>Semplificare",
        ),
        docx_table("<w:tr>" + tc("a", "<w:vMerge/>") + "</w:tr>"),
    ],
    ids=["odt-space-count", "docx-missing-link", "docx-first-row-merge"],
)
def test_odd_files_reach_the_preview(db, upload, data):
    response = upload(data)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(PlanImport.id))) == 1


def _docx_lists_document():
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_paragraph("Piano della mobilità", style="Title")
    document.add_heading("1 Obiettivi", 1)
    for text in ("Primo", "Secondo"):
        document.add_paragraph(text, style="List Number")
    document.add_paragraph("Un punto", style="List Bullet")
    # Numbering set on the paragraph itself (as Word does), with the list number's definition.
    style_num = document.styles["List Number"].element.find(qn("w:pPr")).find(qn("w:numPr"))
    num_id = style_num.find(qn("w:numId")).get(qn("w:val"))
    paragraph = document.add_paragraph("Terzo")
    num_pr = OxmlElement("w:numPr")
    for name, value in (("w:ilvl", "0"), ("w:numId", num_id)):
        element = OxmlElement(name)
        element.set(qn("w:val"), value)
        num_pr.append(element)
    paragraph._p.get_or_add_pPr().append(num_pr)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_numbered_lists_stay_numbered_and_the_title_is_no_section(app):
    _, sections = importers.parse(_docx_lists_document())
    assert [s["title"] for s in sections] == ["Obiettivi"]  # no "Introduction" for the title
    html = [p["html"] for p in sections[0]["paragraphs"]]
    assert html[0] == '<ol start="1"><li>Primo</li></ol>'
    assert html[1] == '<ol start="2"><li>Secondo</li></ol>'
    assert html[2] == "<ul><li>Un punto</li></ul>"
    assert html[3].startswith("<ol ") and "<li>Terzo</li>" in html[3]
    assert "Piano della mobilità" not in " ".join(html)
