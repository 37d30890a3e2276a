"""CSV for spreadsheet programs, streamed: UTF-8 with a byte-order mark (so that Excel and
LibreOffice read the accents right), written in pieces of about 32 KB whatever the number of
rows, and every cell safe to open (a value a spreadsheet would run as a formula is prefixed
with an apostrophe)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

#: Flushed to the response once the buffer holds this many characters.
PIECE = 32_000


_FORMULA = frozenset("=+-@\t\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    return "'" + text if text and text[0] in _FORMULA else text


def csv_stream(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        if buffer.tell() > PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
