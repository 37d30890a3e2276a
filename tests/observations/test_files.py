from __future__ import annotations

import io
import zipfile

import pytest

from app.observations.files import (
    DOCX,
    ODT,
    PDF,
    AttachmentError,
    check_attachment,
    detect_type,
    safe_filename,
)
from tests.fixtures.hostile import BIDI_CONTROLS

MB = 1024 * 1024
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ODT_CONTENT = (
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>'
)


def _zip(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(
                zipfile.ZipInfo(stored_first), entries.pop(stored_first), zipfile.ZIP_STORED
            )
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def odt_bytes() -> bytes:
    return _zip(
        {
            "mimetype": ODT.encode(),
            "content.xml": ODT_CONTENT,
            "META-INF/manifest.xml": b"<manifest/>",
        },
        stored_first="mimetype",
    )


def docx_bytes(*, macros: bool = False) -> bytes:
    content_types = (
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Override PartName="/word/document.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    entries = {"[Content_Types].xml": content_types, "word/document.xml": b"<w:document/>"}
    if macros:
        entries["word/vbaProject.bin"] = b"\x00" * 10
    return _zip(entries)


def test_real_documents_made_by_libraries_are_recognised(tmp_path):
    import docx  # python-docx

    document = docx.Document()
    document.add_paragraph("Osservazione del Comune di Rho")
    path = tmp_path / "lettera.docx"
    document.save(path)
    assert detect_type(path.read_bytes()) == DOCX


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (MINIMAL_PDF, PDF),
        (b"\n  " + MINIMAL_PDF, PDF),
        (odt_bytes(), ODT),
        (docx_bytes(), DOCX),
        (docx_bytes(macros=True), None),
        (b"<html><script>alert(1)</script></html>", None),
        (b"MZ\x90\x00 an executable", None),
        (_zip({"readme.txt": b"just a zip"}), None),
        (b"PK\x03\x04 truncated zip", None),
        (b"", None),
    ],
    ids=[
        "pdf",
        "pdf-leading-space",
        "odt",
        "docx",
        "docm",
        "html",
        "exe",
        "zip",
        "broken",
        "empty",
    ],
)
def test_types_are_judged_by_content(data, expected):
    assert detect_type(data) == expected


def test_a_file_named_pdf_that_is_not_one_is_refused():
    with pytest.raises(AttachmentError, match=r"PDF, ODT (o|or) DOCX"):
        check_attachment("relazione.pdf", b"<script>alert(1)</script>", max_bytes=MB)


def test_size_limit_and_empty_files():
    with pytest.raises(AttachmentError):
        check_attachment("big.pdf", MINIMAL_PDF + b"0" * MB, max_bytes=MB)
    with pytest.raises(AttachmentError):
        check_attachment("empty.pdf", b"", max_bytes=MB)


def test_zip_bombs_are_refused(monkeypatch):
    from app.observations import files

    monkeypatch.setattr(files, "MAX_EXPANDED_BYTES", 1000)
    bomb = _zip({"mimetype": ODT.encode(), "content.xml": b"0" * 5000}, stored_first="mimetype")
    assert detect_type(bomb) is None


def test_checked_file_carries_digest_and_a_safe_name():
    checked = check_attachment("..\\..\\etc/Parere\x00 giunta.exe", MINIMAL_PDF, max_bytes=MB)
    assert checked.content_type == PDF
    assert checked.filename == "Parere_ giunta.pdf"
    assert len(checked.sha256) == 64 and checked.size == len(MINIMAL_PDF)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("osservazioni.PDF", "osservazioni.pdf"),
        ("", "allegato.pdf"),
        ("a" * 300 + ".pdf", "a" * 150 + ".pdf"),
        ("verbale tavolo 3.docx", "verbale tavolo 3.pdf"),
    ],
)
def test_safe_filename_uses_the_detected_type(name, expected):
    assert safe_filename(name, PDF) == expected


def test_an_odt_with_macros_is_refused():
    with_macros = _zip(
        {
            "mimetype": ODT.encode(),
            "content.xml": b"<office:document-content/>",
            "Basic/Standard/Module1.xml": b"<script:module/>",
        },
        stored_first="mimetype",
    )
    assert detect_type(with_macros) is None


def _detect_measuring_memory(data: bytes):
    """``detect_type(data)`` and the peak memory it allocated."""
    import tracemalloc

    tracemalloc.start()
    try:
        detected = detect_type(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return detected, peak


def test_a_huge_manifest_is_not_read_whole(monkeypatch):
    from app.observations import files

    monkeypatch.setattr(files, "MAX_EXPANDED_BYTES", 100 * MB)
    bomb = _zip({"[Content_Types].xml": b"<" + b" " * (40 * MB), "word/document.xml": b"x"})
    assert len(bomb) < MB  # compresses to almost nothing
    detected, peak = _detect_measuring_memory(bomb)
    assert detected is None
    assert peak < 4 * MB


# Issue 11, finding 7: judged by content types, relationships and manifests, not by names -----

VBA_TYPE = "application/vnd.ms-office.vbaProject"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
TEMPLATE_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
)


def _docx(*, defaults: str = "", overrides: str = "", rels: dict[str, str] | None = None, **parts):
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    content_types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="xml" ContentType="application/xml"/>'
        f'{defaults}<Override PartName="/word/document.xml" ContentType="{main}"/>{overrides}'
        "</Types>"
    )
    entries = {
        "[Content_Types].xml": content_types.encode(),
        "_rels/.rels": (
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": b"<w:document/>",
    }
    for name, body in (rels or {}).items():
        entries[name] = (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{body}</Relationships>"
        ).encode()
    entries.update({name.replace("__", "/"): data for name, data in parts.items()})
    return _zip(entries)


def _odt(content: bytes = ODT_CONTENT, **extra: bytes) -> bytes:
    entries = {"mimetype": ODT.encode(), "content.xml": content}
    entries.update({name.replace("__", "/"): data for name, data in extra.items()})
    return _zip(entries, stored_first="mimetype")


EVENT_LISTENER = (
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    b' xmlns:s="urn:oasis:names:tc:opendocument:xmlns:script:1.0"'
    b' xmlns:xlink="http://www.w3.org/1999/xlink"><office:body><office:text>'
    b'<office:event-listeners><s:event-listener s:language="ooo:script" s:event-name='
    b'"dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;'
    b'location=document"/></office:event-listeners></office:text></office:body>'
    b"</office:document-content>"
)


@pytest.mark.parametrize(
    "data",
    [
        _docx(
            defaults=f'<Default Extension="bin" ContentType="{VBA_TYPE}"/>',
            rels={
                "word/_rels/document.xml.rels": f'<Relationship Id="r9" Type="{VBA_REL}" '
                'Target="vba.bin"/>'
            },
            word__vba_bin=b"\xd0\xcf\x11\xe0" + b"\x00" * 60,
        ),
        _docx(
            rels={
                "word/_rels/document.xml.rels": f'<Relationship Id="r9" Type="{VBA_REL}" '
                'Target="macros/x.dat"/>'
            },
            word__macros__x_dat=b"\xd0\xcf\x11\xe0",
        ),
        _docx(overrides=f'<Override PartName="/word/anything.xml" ContentType="{VBA_TYPE}"/>'),
        _docx(
            overrides='<Override PartName="/word/activeX/activeX1.xml" ContentType='
            '"application/vnd.ms-office.activeX+xml"/>'
        ),
        _docx(
            rels={
                "word/_rels/settings.xml.rels": f'<Relationship Id="r1" Type="{TEMPLATE_REL}" '
                'Target="https://attacker.example/t.dotm" TargetMode="External"/>'
            }
        ),
        _odt(basic__Standard__Module1_xml=b"<script:module/>"),
        _odt(basic__standard__module1_xml=b"<script:module/>"),
        _odt(Scripts__python__x_py=b"import os"),
        _odt(EVENT_LISTENER),
        _odt(
            **{
                "META-INF/manifest.xml": b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                b'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path='
                b'"Dialogs/x.xml" manifest:media-type="application/vnd.sun.star.basic"/>'
                b"</manifest:manifest>"
            }
        ),
    ],
    ids=[
        "docx-vba-renamed",
        "docx-vba-relationship-only",
        "docx-vba-content-type-only",
        "docx-activex",
        "docx-remote-template",
        "odt-basic",
        "odt-lowercase-basic",
        "odt-scripts",
        "odt-event-listener",
        "odt-manifest-script-type",
    ],
)
def test_macros_are_found_by_what_the_package_declares(data):
    assert detect_type(data) is None


def test_plain_documents_with_relationships_and_links_are_accepted(tmp_path):
    hyperlink = (
        '<Relationship Id="r2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/hyperlink" Target="https://www.cittametropolitana.mi.it/" '
        'TargetMode="External"/>'
    )
    assert detect_type(_docx(rels={"word/_rels/document.xml.rels": hyperlink})) == DOCX
    for target in ("Normal.dotx", "file:///C:/Users/ada/Modelli/Lettera.dotm"):
        local = f'<Relationship Id="r1" Type="{TEMPLATE_REL}" Target="{target}" ' + (
            'TargetMode="External"/>'
        )
        assert detect_type(_docx(rels={"word/_rels/settings.xml.rels": local})) == DOCX, target
    for target in ("\\\\attacker\\share\\t.dotm", "file://attacker/share/t.dotm"):
        remote = f'<Relationship Id="r1" Type="{TEMPLATE_REL}" Target="{target}" ' + (
            'TargetMode="External"/>'
        )
        assert detect_type(_docx(rels={"word/_rels/settings.xml.rels": remote})) is None, target

    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text="Osservazione del Comune di Rho"))
    path = tmp_path / "lettera.odt"
    document.save(str(path))
    assert detect_type(path.read_bytes()) == ODT


def _lying_zip(real: bytes, declared: int) -> bytes:
    """An ODT whose content.xml expands to ``real`` but whose headers declare ``declared``."""
    import struct
    import zlib

    data = bytearray(_odt(real))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("content.xml")
    crc = zlib.crc32(real[:declared])
    struct.pack_into("<LLL", data, info.header_offset + 14, crc, info.compress_size, declared)
    for offset in _central_entries(bytes(data)):
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if bytes(data[offset + 46 : offset + 46 + name_length]) == b"content.xml":
            struct.pack_into("<LLL", data, offset + 16, crc, info.compress_size, declared)
    return bytes(data)


def _central_entries(data: bytes):
    start = 0
    while (offset := data.find(b"PK\x01\x02", start)) != -1:
        yield offset
        start = offset + 4


def test_an_entry_that_expands_beyond_what_it_declares_is_refused(monkeypatch):
    from app.observations import files

    monkeypatch.setattr(files, "MAX_EXPANDED_BYTES", 2 * MB)
    bomb = _lying_zip(b"<" + b" " * (30 * MB), declared=1024)
    assert len(bomb) < MB
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo("content.xml").file_size == 1024
    detected, peak = _detect_measuring_memory(bomb)
    assert detected is None
    assert peak < 8 * MB  # streamed and stopped at the cap, never expanded whole
    small_lie = _lying_zip(ODT_CONTENT + b" " * 5000, declared=100)
    assert detect_type(small_lie) is None  # under the cap, but not what it says


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_bidi_controls_are_stripped_from_stored_names(control):
    checked = check_attachment(f"fattura{control}fdp.exe", MINIMAL_PDF, max_bytes=MB)
    assert control not in checked.filename
    assert checked.filename == "fatturafdp.pdf"
