"""An OpenDocument spreadsheet (ODS), streamed: one sheet of text cells written row by row
into a ZIP archive that goes out in pieces as it grows, so memory stays flat whatever the
number of rows (odfpy builds the whole document in memory first).

The archive holds what ODF 1.2 asks of a package: ``mimetype`` first and stored, the
manifest, and ``content.xml`` (the cells); spreadsheet programs and odfpy open it. Every cell
is a string cell, so nothing in it is ever run as a formula; characters XML cannot hold are
dropped.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
#: Sent to the response once this many bytes are waiting.
PIECE = 64_000

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    ' manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet><table:table table:name={name}>"
)
_FOOT = "</table:table></office:spreadsheet></office:body></office:document-content>"


class _Sink:
    """A write-only, unseekable file for ``zipfile``: what is written waits here until taken."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._written = 0
        self.waiting = 0

    def write(self, data) -> int:
        data = bytes(data)
        self._pieces.append(data)
        self._written += len(data)
        self.waiting += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._pieces)
        self._pieces, self.waiting = [], 0
        return out


def _cell(value) -> str:
    text = _NOT_XML.sub("", "" if value is None else str(value))
    if not text:
        return "<table:table-cell/>"
    return (
        '<table:table-cell office:value-type="string">'
        f"<text:p>{escape(text)}</text:p></table:table-cell>"
    )


def _row(values: Iterable) -> bytes:
    return ("<table:table-row>" + "".join(_cell(v) for v in values) + "</table:table-row>").encode()


def ods_stream(sheet: str, header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        with archive.open("content.xml", "w") as content:
            content.write(_HEAD.format(name=quoteattr(_NOT_XML.sub("", sheet))).encode())
            content.write(_row(header))
            for row in rows:
                content.write(_row(row))
                if sink.waiting > PIECE:
                    yield sink.take()
            content.write(_FOOT.encode())
    yield sink.take()
