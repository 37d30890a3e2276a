"""Attachment checks: what a file is, judged by its content, never by its name.

Accepted: PDF, OpenDocument text (ODT) and Word (DOCX). ZIP-based formats are opened and their
declared type read from inside; archives that would expand beyond a limit (zip bombs), that are
encrypted, or that carry macros are refused.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from app.core.i18n import lazy_gettext as _l

PDF = "application/pdf"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {PDF: ".pdf", ODT: ".odt", DOCX: ".docx"}
TYPE_NAMES = {PDF: "PDF", ODT: "ODT", DOCX: "DOCX"}

_DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: A ZIP whose entries would expand beyond this is refused (zip bomb).
MAX_EXPANDED_BYTES = 200 * 1024 * 1024
#: The small entries read to tell the type are read at most this far: never a whole bomb.
MAX_MANIFEST_BYTES = 256 * 1024
#: Where OpenDocument keeps macros (Basic and scripts): refused, like DOCX's vbaProject.bin.
ODT_MACRO_FOLDERS = ("Basic/", "Scripts/")


class AttachmentError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes


def detect_type(data: bytes) -> str | None:
    """The content type of ``data`` if it is one we accept, else None."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _zip_document_type(data)
    return None


def _zip_document_type(data: bytes) -> str | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if any(entry.flag_bits & 0x1 for entry in entries):  # encrypted entries
        return None
    if sum(entry.file_size for entry in entries) > MAX_EXPANDED_BYTES:
        return None
    names = {entry.filename for entry in entries}
    try:
        if "mimetype" in names and _read_capped(archive, "mimetype").strip() == ODT.encode():
            macros = any(name.startswith(ODT_MACRO_FOLDERS) for name in names)
            return ODT if "content.xml" in names and not macros else None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            types = _read_capped(archive, "[Content_Types].xml")
            if _DOCX_MAIN.encode() in types and "word/vbaProject.bin" not in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError):
        return None
    return None


def _read_capped(archive: zipfile.ZipFile, name: str) -> bytes:
    """An entry's first bytes; an entry larger than the cap is not a real manifest."""
    with archive.open(name) as entry:
        data = entry.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"{name} is implausibly large")
    return data


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_filename(name: str, content_type: str) -> str:
    """A display name without paths or control characters, ending in the type's extension."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._") or "allegato"
    stem, dot, _ = name.rpartition(".")
    if not dot:
        stem = name
    expected = EXTENSIONS[content_type]
    return f"{stem[:150]}{expected}"


def check_attachment(filename: str, data: bytes, *, max_bytes: int) -> CheckedFile:
    """Accept the file or say, in the user's language, why not."""
    if not data:
        raise AttachmentError(_l("The file %(name)s is empty.", name=filename or "?"))
    if len(data) > max_bytes:
        raise AttachmentError(
            _l(
                "The file %(name)s is larger than %(mb)d MB.",
                name=filename or "?",
                mb=max(1, max_bytes // (1024 * 1024)),
            )
        )
    content_type = detect_type(data)
    if content_type is None:
        raise AttachmentError(
            _l(
                "The file %(name)s is not a PDF, ODT or DOCX document (its content was checked, "
                "not its name).",
                name=filename or "?",
            )
        )
    return CheckedFile(
        filename=safe_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
