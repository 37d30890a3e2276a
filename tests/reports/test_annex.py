"""The council annex: a PDF/A read back with pypdf (text, XMP identification, embedded fonts,
page numbers) and an ODT read back with odfpy; both hold every observation with its outcome,
reasoning and changed words, the digest of the JSON Lines export they were made from, and no
personal data that may not be published."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.decisions.models import Outcome
from app.reports import annex
from app.rounds.models import RoundState
from tests.fixtures.factories import login
from tests.reports.conftest import decide, respond

HOSTILE = '</style><img src="file:///etc/passwd"> «virgolette» & <b>grassetto</b>'


def _jsonl_digest(client, scene) -> str:
    body = client.get(f"/reports/rounds/{scene.round.id}/export.jsonl").get_data()
    return hashlib.sha256(body).hexdigest()


def _pdf(db, scene, **options) -> tuple[PdfReader, str, str]:
    out = io.BytesIO()
    with Session(db.engine) as session:  # its own, as a job's: emptied chunk by chunk
        digest = annex.write_pdf(session, scene.round.id, out=out, **options)
    reader = PdfReader(io.BytesIO(out.getvalue()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, text, digest


def _numbered(reader: PdfReader) -> None:
    """Every page but the title page ends with its number, counted on across the parts."""
    for number, page in enumerate(reader.pages[1:], start=2):
        assert page.extract_text().rstrip().endswith(str(number)), number


def _odt_text(data: bytes) -> tuple[list[str], list[str]]:
    from odf import teletype, text
    from odf.opendocument import load

    document = load(io.BytesIO(data))
    headings = [teletype.extractText(h) for h in document.getElementsByType(text.H)]
    paragraphs = [teletype.extractText(p) for p in document.getElementsByType(text.P)]
    return headings, paragraphs


@pytest.fixture
def decided(db, scene, make_successor):
    """The comune's point accepted with a link to a change, the university's not relevant."""
    change, _key = respond(db, make_successor, scene)
    return change


def test_the_pdf_holds_every_observation_and_the_digest_of_its_data(db, client, scene, decided):
    reader, text, digest = _pdf(db, scene, draft=True)
    for observation in scene.observations:
        assert observation.protocol_code in text
    assert "Osservazioni e controdeduzioni" in text and "Indice" in text
    assert "Accolta: integrata." in text and "Fuori tema." in text
    assert "nuove piste ciclabili" in text  # the words the change inserted
    assert "Non riguarda il piano." in text  # why the letter was not admissible
    assert "BOZZA" in text and "Comune di Rho" in text
    login(client, scene.moderator)
    assert digest == _jsonl_digest(client, scene)
    assert digest in text.replace("\n", "")
    assert len(reader.pages) >= 4
    _numbered(reader)
    assert scene.referent.display_name not in text and scene.referent.email not in text
    assert "Più piste ciclabili in centro" not in text  # the round does not publish them


def test_the_pdf_is_pdf_a_with_every_font_embedded(db, scene, decided):
    reader, _text, _digest = _pdf(db, scene, draft=True)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    # the PDF/A identification, as attributes or as elements
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp)
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    assert "/DestOutputProfile" in intents[0].get_object()
    assert reader.metadata.title.startswith("Osservazioni e controdeduzioni")
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendant = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts[font["/BaseFont"]] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    assert fonts and all(fonts.values()), fonts
    assert any("Titillium" in name for name in fonts)


def test_a_concluded_rounds_annex_is_no_draft_and_speaks_english(db, scene, decided):
    scene.round.state = RoundState.CONCLUDED
    db.session.commit()
    _reader, text, _digest = _pdf(db, scene, draft=False, language="en")
    assert "Observations and responses" in text and "Contents" in text
    assert "DRAFT" not in text and "BOZZA" not in text
    assert "Accepted" in text or "accepted" in text


def test_user_text_is_shown_as_text_and_loads_nothing(db, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, HOSTILE, scene.editor)
    _reader, text, _digest = _pdf(db, scene, draft=True)
    assert '<img src="file:///etc/passwd">' in text and "«virgolette» & <b>grassetto</b>" in text
    fetch = annex._fetcher({"file:///fonts/a.ttf"})
    with pytest.raises(ValueError):
        fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetch("http://127.0.0.1:5432/")


def test_the_odt_holds_the_same_annex_and_opens_with_odfpy(db, client, scene, decided):
    out = io.BytesIO()
    with Session(db.engine) as session:
        digest = annex.write_odt(session, scene.round.id, draft=True, out=out)
    data = out.getvalue()
    assert data[30:38] == b"mimetype" and annex.odtstream.MIMETYPE.encode() in data[:100]
    headings, paragraphs = _odt_text(data)
    body = "\n".join(paragraphs)
    assert [o.protocol_code for o in scene.observations] == [
        h for h in headings if h.startswith(scene.round.protocol_prefix)
    ]
    assert "Statistiche" in headings and "Osservazioni e controdeduzioni" in headings
    assert "Accolta: integrata." in body and "Fuori tema." in body
    assert "nuove piste ciclabili" in body and "Non riguarda il piano." in body
    assert "BOZZA — non ancora approvato" in body
    login(client, scene.moderator)
    assert digest == _jsonl_digest(client, scene) and digest in body
    assert scene.referent.display_name not in body and scene.referent.email not in body
    assert "Più piste ciclabili in centro" not in body
    assert b'text:style-name="Inserted"' in _content(data)


def _content(data: bytes) -> bytes:
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data)).read("content.xml")


def test_the_odt_reads_the_round_chunk_by_chunk(db, scene, monkeypatch, make_observation):
    for i in range(5):
        make_observation(scene.round, scene.referent, body_html=f"<p>Altra {i}</p>")
    monkeypatch.setattr(annex, "CHUNK", 2)
    seen = []
    out = io.BytesIO()
    with Session(db.engine) as session:
        annex.write_odt(
            session, scene.round.id, draft=True, out=out, progress=lambda d, t: seen.append(d)
        )
    headings, _paragraphs = _odt_text(out.getvalue())
    protocols = [h for h in headings if h.startswith(scene.round.protocol_prefix)]
    assert len(protocols) == 9 and protocols == sorted(set(protocols))
    assert seen == [2, 4, 6, 8, 9]


def test_the_pdf_is_laid_out_in_parts_joined_into_one(db, scene, monkeypatch, make_observation):
    for i in range(5):
        make_observation(scene.round, scene.referent, body_html=f"<p>Altra {i}</p>")
    monkeypatch.setattr(annex, "PDF_PART", 2)
    seen = []
    reader, text, _digest = _pdf(db, scene, draft=True, progress=lambda d, t: seen.append(d))
    protocols = re.findall(rf"^{scene.round.protocol_prefix}-\d+$", text, re.M)
    assert len(protocols) == 9 and protocols == sorted(set(protocols))
    _numbered(reader)  # five parts of observations after the front matter, numbered on
    assert "/ID" in reader.trailer and "/OutputIntents" in reader.trailer["/Root"]
    assert reader.metadata.producer.startswith("WeasyPrint")  # as the XMP says
    assert seen[-1] == 9


def test_the_command_writes_the_whole_file_or_none(app, db, scene, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "allegato.odt"
    result = runner.invoke(
        args=["reports", "annex", str(scene.round.id), "--format", "odt", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "(draft)" in result.output and target.stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["allegato.odt"]  # no temporary file left
    missing = runner.invoke(args=["reports", "annex", "999999", "--output", str(target)])
    assert missing.exit_code != 0 and "No round has the id 999999" in missing.output
