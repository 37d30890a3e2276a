"""Import of Markdown, ODT and DOCX: round trips, matching to a predecessor, bad files."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.plans import importers
from app.plans.models import LineageKind, ParagraphLineage, PlanImport, PlanVersion, VersionStatus
from app.plans.tree import load_tree
from tests.fixtures.factories import csrf_token

#: (level, number, title, paragraphs)
STRUCTURE = [
    (
        1,
        "1",
        "Agile e performante",
        ["Semplificare procedure e accesso ai servizi.", "Ridurre la burocrazia & i tempi."],
    ),
    (2, "1.1", "Digitalizzazione", ["Dematerializzare le attività."]),
    (3, "1.1.1", "Banda larga", ["Portare la fibra nei comuni della zona omogenea."]),
    (1, "2", "Creativa e innovativa", ["Collegare il sapere al saper fare."]),
]


def make_markdown(structure=STRUCTURE) -> bytes:
    lines = []
    for level, number, title, paragraphs in structure:
        lines += ["#" * level + f" {number} {title}", ""]
        for paragraph in paragraphs:
            lines += [paragraph.replace("&", "\\&"), ""]
    return "\n".join(lines).encode()


def make_docx(structure=STRUCTURE, headings=True) -> bytes:
    import docx

    document = docx.Document()
    for level, number, title, paragraphs in structure:
        if headings:
            document.add_heading(f"{number} {title}", level=level)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_odt(structure=STRUCTURE) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    for level, number, title, paragraphs in structure:
        document.text.addElement(H(outlinelevel=level, text=f"{number} {title}"))
        for paragraph in paragraphs:
            document.text.addElement(P(text=paragraph))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def _shape(sections):
    return [
        (s["level"], s["number"], s["title"], [p["text"] for p in s["paragraphs"]])
        for s in sections
    ]


@pytest.mark.parametrize(
    ("maker", "expected_format"),
    [(make_markdown, "markdown"), (make_docx, "docx"), (make_odt, "odt")],
)
def test_round_trip_keeps_structure_and_text(app, maker, expected_format):
    with app.test_request_context():
        file_format, sections = importers.parse(maker())
    assert file_format == expected_format
    assert _shape(sections) == [(lv, n, t, list(ps)) for lv, n, t, ps in STRUCTURE]


def test_markdown_lists_tables_and_emphasis(app):
    source = (
        b"# 1 Titolo\n\nTesto *importante*.\n\n- uno\n- due\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    with app.test_request_context():
        _format, sections = importers.parse(source)
    paragraphs = sections[0]["paragraphs"]
    assert paragraphs[0]["html"] == "Testo <em>importante</em>."
    assert [p["text"] for p in paragraphs[1:3]] == ["uno", "due"]
    assert paragraphs[1]["html"] == "<ul><li>uno</li></ul>"
    assert "<table>" in paragraphs[3]["html"] and paragraphs[3]["text"] == "a b 1 2"


def test_script_and_event_handlers_are_removed(app):
    from app.plans.text import clean_html

    with app.test_request_context():
        _f, sections = importers.parse(
            b'# 1 T\n\n<p onclick="x()">a</p> [l](javascript:alert(1)) <script>alert(1)</script>\n'
        )
    html = sections[0]["paragraphs"][0]["html"]
    assert not re.search(r"<script|<[^>]*onclick|href=\"javascript", html)
    cleaned = clean_html(
        '<p onclick="x()">a <a href="javascript:alert(1)">l</a><script>alert(1)</script>'
        '<img src=x onerror=alert(1)><strong style="color:red">b</strong></p>'
    )
    assert cleaned == '<p>a <a rel="noopener noreferrer nofollow">l</a><strong>b</strong></p>'


# Through the pages -------------------------------------------------------------------------


@pytest.fixture
def editor_client(logged_in):
    client, _user = logged_in(Role.EDITOR)
    return client


def _upload(client, plan, data: bytes, filename="testo.docx", predecessor=0, label="Bozza"):
    token = csrf_token(client, f"/plans/{plan.slug}/import")
    return client.post(
        f"/plans/{plan.slug}/import",
        data={
            "csrf_token": token,
            "label": label,
            "predecessor": str(predecessor),
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def _confirm(client, location, extra=None):
    token = csrf_token(client, location)
    return client.post(
        location, data={"csrf_token": token, "label": "Bozza", "action": "confirm", **(extra or {})}
    )


def test_import_preview_then_confirm_creates_a_draft(db, editor_client, make_plan):
    plan = make_plan()
    response = _upload(editor_client, plan, make_docx(), filename="whatever.bin")
    assert response.status_code == 302
    preview = editor_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Banda larga" in preview and "Ridurre la burocrazia &amp; i tempi." in preview
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 0  # nothing saved yet
    confirmed = _confirm(editor_client, response.headers["Location"])
    assert confirmed.status_code == 302
    version = db.session.scalars(select(PlanVersion)).one()
    tree = load_tree(db.session, version)
    assert [n.depth for n in tree.walk()] == [1, 2, 3, 1]
    assert tree.paragraph_count == 5
    assert db.session.scalar(select(func.count(PlanImport.id))) == 0
    kinds = db.session.scalars(select(ParagraphLineage.kind)).all()
    assert set(kinds) == {LineageKind.ADDED}


def test_import_can_be_cancelled(db, editor_client, make_plan):
    plan = make_plan()
    location = _upload(editor_client, plan, make_markdown(), "a.md").headers["Location"]
    token = csrf_token(editor_client, location)
    response = editor_client.post(location, data={"csrf_token": token, "action": "cancel"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(PlanImport.id))) == 0
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 0


def _broken_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not-xml")
        archive.writestr("[Content_Types].xml", "<nope/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "vuoto"),
        (b"   \n", "vuoto"),
        (b"%PDF-1.7\n\x00\x01\x02binary", "non è supportato"),
        (b"PK\x03\x04this is no zip", "danneggiato"),
        (_broken_docx(), "danneggiato"),
        (make_docx(headings=False), "non ha titoli"),
        (b"solo testo senza titoli\n", "non ha titoli"),
        (b"\xff\xfe\x00b\x00a\x00d", "non è supportato"),
    ],
    ids=[
        "empty",
        "blank",
        "pdf",
        "bad-zip",
        "bad-docx",
        "docx-no-headings",
        "md-no-headings",
        "utf16",
    ],
)
def test_bad_files_are_refused_with_a_message(db, editor_client, make_plan, data, message):
    plan = make_plan()
    response = _upload(editor_client, plan, data)
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(select(func.count(PlanImport.id))) == 0


def test_a_file_over_the_limit_is_refused(db, editor_client, make_plan, config):
    config["PLAN_IMPORT_MAX_BYTES"] = 1024 * 1024
    plan = make_plan()
    response = _upload(editor_client, plan, make_markdown() + b"x" * (1024 * 1024))
    assert response.status_code == 422
    assert "supera 1 MB" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PlanImport.id))) == 0


SUCCESSOR = [
    (
        1,
        "1",
        "Agile e performante",
        [
            "Semplificare davvero le procedure e accesso ai servizi.",  # edited
            "Ridurre la burocrazia",  # split of the old second paragraph ...
            "& i tempi.",  # ... this part is too short to be matched: new
        ],
    ),
    (2, "1.1", "Digitalizzazione", ["Dematerializzare le attività."]),
    (
        1,
        "2",
        "Creativa e innovativa",
        ["Collegare il sapere al saper fare.", "Un paragrafo nuovo."],
    ),
]


def test_a_successor_import_is_matched_and_correctable(db, editor_client, make_plan):
    plan = make_plan()
    _confirm(
        editor_client, _upload(editor_client, plan, make_markdown(), "a.md").headers["Location"]
    )
    first = db.session.scalars(select(PlanVersion)).one()
    first.freeze()
    db.session.commit()
    old = {p.text: p.key for _n, p in load_tree(db.session, first).paragraphs()}

    location = _upload(
        editor_client, plan, make_markdown(SUCCESSOR), "b.md", predecessor=1, label="Rev"
    ).headers["Location"]
    preview = editor_client.get(location).get_data(as_text=True)
    proposed = dict(re.findall(r'name="(p-\d+-\d+)" class="[^"]*" value="([^"]*)"', preview))
    assert proposed["p-0-0"] == old["Semplificare procedure e accesso ai servizi."]
    assert proposed["p-0-1"] == old["Ridurre la burocrazia & i tempi."]
    assert proposed["p-2-1"] == ""
    # the editor says the third paragraph continues the old second one too (a split)
    response = _confirm(editor_client, location, {"p-0-2": proposed["p-0-1"]})
    assert response.status_code == 302
    second = db.session.scalar(select(PlanVersion).where(PlanVersion.number == 2))
    rows = db.session.scalars(
        select(ParagraphLineage).where(ParagraphLineage.version_id == second.id)
    ).all()
    kinds = sorted(r.kind.value for r in rows)
    assert kinds == ["added", "carried", "carried", "edited", "removed", "split", "split"]
    # permalinks survive: a carried paragraph keeps its key
    new_keys = {p.key for _n, p in load_tree(db.session, second).paragraphs()}
    assert old["Collegare il sapere al saper fare."] in new_keys


def test_a_wrong_correction_saves_nothing(db, editor_client, make_plan):
    plan = make_plan()
    _confirm(
        editor_client, _upload(editor_client, plan, make_markdown(), "a.md").headers["Location"]
    )
    first = db.session.scalars(select(PlanVersion)).one()
    first.freeze()
    db.session.commit()
    location = _upload(
        editor_client, plan, make_markdown(SUCCESSOR), "b.md", predecessor=1
    ).headers["Location"]
    response = _confirm(editor_client, location, {"p-0-0": "nokey"})
    assert response.status_code == 422
    assert "nokey" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1


def test_continues_defaults_to_the_latest_fixed_version_and_refusals_sit_under_it(
    db, logged_in, make_version, make_successor
):
    client, _ = logged_in(Role.EDITOR)
    frozen = make_version(status=VersionStatus.FROZEN, label="Bozza 2019")
    make_successor(frozen, label="Revisione")  # version 2, a draft
    path = f"/plans/{frozen.plan.slug}/import"
    page = client.get(path).get_data(as_text=True)
    assert re.search(r'<option selected value="1">|<option value="1" selected>', page), page[
        page.index('name="predecessor"') :
    ][:400]

    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "label": "Testo nuovo",
            "predecessor": "2",
            "file": (io.BytesIO(make_docx()), "testo.docx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="predecessor-error"' in page and "Congela questa versione" in page
    assert 'id="file-error"' not in page
