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

MB = 1024 * 1024
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


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
            "content.xml": b"<office:document-content/>",
            "META-INF/manifest.xml": b"<manifest/>",
        },
        stored_first="mimetype",
    )


def docx_bytes(*, macros: bool = False) -> bytes:
    content_types = (
        b'<Types><Override PartName="/word/document.xml" ContentType="application/'
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


def test_a_huge_manifest_is_not_read_whole(monkeypatch):
    import tracemalloc

    from app.observations import files

    monkeypatch.setattr(files, "MAX_EXPANDED_BYTES", 100 * MB)
    bomb = _zip({"[Content_Types].xml": b"<" + b" " * (40 * MB), "word/document.xml": b"x"})
    assert len(bomb) < MB  # compresses to almost nothing
    tracemalloc.start()
    try:
        assert detect_type(bomb) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MB
