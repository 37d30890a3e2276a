"""Attachment checks: what a file is, judged by its content, never by its name.

Accepted: PDF, OpenDocument text (ODT) and Word (DOCX). ZIP-based formats are opened and their
declared type read from inside. Refused: archives whose entries really expand (inflated here,
whatever their headers say) beyond a limit or to another size than declared, encrypted ones,
and those that carry code, judged by what the package declares — DOCX content types and
relationships (VBA projects under any name, ActiveX, a remote template), ODT manifests, macro
folders in any letter case, and event listeners or macro links in the XML.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

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
#: Where OpenDocument keeps macros (Basic, scripts, dialogs), compared in lower case.
ODT_MACRO_FOLDERS = ("basic/", "scripts/", "dialogs/")


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
        if any(entry.flag_bits & 0x1 for entry in entries):  # encrypted entries
            return None
        if not _sizes_are_true(data, entries):
            return None
        names = {entry.filename for entry in entries}
        if "mimetype" in names and _read_capped(archive, "mimetype").strip() == ODT.encode():
            return ODT if "content.xml" in names and not _odt_has_macros(archive, names) else None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX if _docx_is_plain(archive, names) else None
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, zlib.error):
        return None
    except etree.LxmlError:
        return None
    return None


# Sizes: what the entries really expand to, not what their headers say ----------------------


def _sizes_are_true(data: bytes, entries: list[zipfile.ZipInfo]) -> bool:
    """Inflate every entry as a reader would, counting, and stop at MAX_EXPANDED_BYTES.

    The headers' sizes are an archive's own claim: an entry may declare 1 KB and expand to
    300 MB in the program that opens it. Each entry is inflated here from its local header
    until its deflate stream ends, in chunks that are thrown away; an archive is refused when
    the total passes the cap or when an entry is not the size it declares.
    """
    budget = MAX_EXPANDED_BYTES
    for entry in entries:
        start = _data_offset(data, entry)
        if entry.compress_type == zipfile.ZIP_STORED:
            real = entry.compress_size
        elif entry.compress_type == zipfile.ZIP_DEFLATED:
            real = _inflated_size(data, start, budget)
        else:  # Office documents use nothing else
            return False
        if real is None or real != entry.file_size:
            return False
        budget -= real
        if budget < 0:
            return False
    return True


def _data_offset(data: bytes, entry: zipfile.ZipInfo) -> int:
    header = data[entry.header_offset : entry.header_offset + zipfile.sizeFileHeader]
    if len(header) != zipfile.sizeFileHeader or header[:4] != zipfile.stringFileHeader:
        raise zipfile.BadZipFile("bad local header")
    fields = struct.unpack(zipfile.structFileHeader, header)
    name_length = fields[zipfile._FH_FILENAME_LENGTH]
    extra_length = fields[zipfile._FH_EXTRA_FIELD_LENGTH]
    return entry.header_offset + zipfile.sizeFileHeader + name_length + extra_length


def _inflated_size(data: bytes, start: int, budget: int) -> int | None:
    """How many bytes the deflate stream at ``start`` expands to; None past ``budget``."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    view = memoryview(data)[start:]
    total = 0
    pending = bytes(view[:_CHUNK])
    position = _CHUNK
    while not inflater.eof:
        out = inflater.decompress(pending, _CHUNK)
        total += len(out)
        if total > budget:
            return None
        if inflater.unconsumed_tail:
            pending = inflater.unconsumed_tail
        elif position < len(view):
            pending = bytes(view[position : position + _CHUNK])
            position += _CHUNK
        elif not out:
            raise zlib.error("truncated deflate stream")
        else:
            pending = b""
    return total


# What the package declares -----------------------------------------------------------------

#: Content types (in [Content_Types].xml) and relationship types (in any .rels part) that
#: carry code: VBA projects and their data, macro-enabled main parts, ActiveX controls.
_DOCX_CODE = re.compile(r"vbaproject|vbadata|macroenabled|activex|keymapcustomizations", re.I)
#: Relationships that make Word fetch something when the document opens.
_FETCHED_ON_OPEN = {"attachedTemplate", "subDocument", "frame", "oleObject"}


def _docx_is_plain(archive: zipfile.ZipFile, names: set[str]) -> bool:
    types = _xml(archive, "[Content_Types].xml")
    declared = {
        element.get("PartName", "").lstrip("/").lower(): element.get("ContentType", "")
        for element in types.iter(f"{{{_CT_NS}}}Override")
    }
    if declared.get("word/document.xml") != _DOCX_MAIN:
        return False
    if any("vbaproject" in name.lower() for name in names):
        return False  # undeclared, so inert; but no honest document carries one
    for element in types.iter(f"{{{_CT_NS}}}Default", f"{{{_CT_NS}}}Override"):
        if _DOCX_CODE.search(element.get("ContentType", "")):
            return False
    for name in names:
        if not name.lower().endswith(".rels"):
            continue
        for relationship in _xml(archive, name).iter(f"{{{_REL_NS}}}Relationship"):
            kind = relationship.get("Type", "")
            if _DOCX_CODE.search(kind):
                return False
            external = relationship.get("TargetMode", "").lower() == "external"
            if (
                external
                and kind.rsplit("/", 1)[-1] in _FETCHED_ON_OPEN
                and _is_remote(relationship.get("Target", ""))
            ):
                return False  # e.g. a remote template: fetched (and run) when Word opens it
    return True


def _is_remote(target: str) -> bool:
    """A target on another machine: a URL, a UNC path, or file:// with a host. Word documents
    made from a template often name it as a local path (file:///C:/…), which is harmless."""
    target = target.strip().replace("\\", "/").lower()
    if target.startswith("//"):
        return True
    scheme, _, rest = target.partition(":")
    if not rest or len(scheme) == 1:  # relative, or a drive letter (c:/…)
        return False
    if scheme == "file":
        return not rest.startswith("///") and rest.startswith("//")
    return True


_ODF_SCRIPT_NS = "urn:oasis:names:tc:opendocument:xmlns:script:1.0"
_ODF_MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
_ODF_MACRO_URL = re.compile(r"^\s*(vnd\.sun\.star\.script:|macro:)", re.I)
_ODF_CODE_TYPE = re.compile(r"basic|script|macro", re.I)


def _odt_has_macros(archive: zipfile.ZipFile, names: set[str]) -> bool:
    """Macro folders (in any letter case), script types in the manifest, and event listeners
    or macro links in the XML that LibreOffice runs."""
    if any(name.lower().startswith(ODT_MACRO_FOLDERS) for name in names):
        return True
    if "META-INF/manifest.xml" in names:
        manifest = _xml(archive, "META-INF/manifest.xml")
        for entry in manifest.iter(f"{{{_ODF_MANIFEST_NS}}}file-entry"):
            path = entry.get(f"{{{_ODF_MANIFEST_NS}}}full-path", "")
            media_type = entry.get(f"{{{_ODF_MANIFEST_NS}}}media-type", "")
            if path.lower().startswith(ODT_MACRO_FOLDERS) or _ODF_CODE_TYPE.search(media_type):
                return True
    return any(
        _odf_xml_runs_code(archive, name)
        for name in ("content.xml", "styles.xml", "settings.xml", "meta.xml")
        if name in names
    )


def _odf_xml_runs_code(archive: zipfile.ZipFile, name: str) -> bool:
    """Stream the part (its size is already known to be true and bounded)."""
    with archive.open(name) as stream:
        for _event, element in etree.iterparse(stream, events=("start",), **_SAFE_XML):
            if element.tag.startswith(f"{{{_ODF_SCRIPT_NS}}}") or (
                isinstance(element.tag, str) and element.tag.endswith("}event-listeners")
            ):
                return True
            if any(_ODF_MACRO_URL.match(value) for value in element.attrib.values()):
                return True
            element.clear(keep_tail=False)
    return False


_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: No DTDs, no entities, no network: a package's XML is data, never instructions.
_SAFE_XML = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}
_CHUNK = 64 * 1024


def _xml(archive: zipfile.ZipFile, name: str):
    parser = etree.XMLParser(**_SAFE_XML)
    return etree.fromstring(_read_capped(archive, name), parser)


def _read_capped(archive: zipfile.ZipFile, name: str) -> bytes:
    """An entry's first bytes; an entry larger than the cap is not a real manifest."""
    with archive.open(name) as entry:
        data = entry.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"{name} is implausibly large")
    return data


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
#: Bidirectional controls make a name read differently from what it is ("fattura\u202efdp.exe"
#: shows as "fatturaexe.pdf"): removed from every stored name.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_filename(name: str, content_type: str) -> str:
    """A display name without paths or control characters, ending in the type's extension."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _BIDI.sub("", name)
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
