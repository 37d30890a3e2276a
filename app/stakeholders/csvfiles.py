"""Reading the CSV files people actually have: Excel's (semicolons, Latin-1) as well as UTF-8.

``read_table`` decodes (UTF-8 with or without BOM, else Latin-1), picks the separator from the
header line (semicolon or comma), normalises the column names and returns the rows with their
line numbers, so that every problem can be named by the line the person sees in their editor.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from app.core.i18n import lazy_gettext as _l

#: Largest CSV accepted by the imports (the registry of a metropolitan city is far smaller).
MAX_CSV_BYTES = 2 * 1024 * 1024


class CsvError(ValueError):
    """The file as a whole cannot be read as a table (the message is translatable)."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass
class CsvRow:
    line: int
    values: dict[str, str]
    #: A problem with the row's shape (e.g. more cells than columns), found while reading.
    problem: object | None = None


@dataclass
class CsvTable:
    columns: list[str]
    rows: list[CsvRow] = field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (BOM or not), else Latin-1."""
    if len(raw) > MAX_CSV_BYTES:
        raise CsvError(
            _l("The file is too large (at most %(size)d KB).", size=MAX_CSV_BYTES // 1024)
        )
    if not raw.strip():
        raise CsvError(_l("The file is empty."))
    if b"\x00" in raw:
        raise CsvError(_l("This is not a text file: save the sheet as CSV and try again."))
    text, encoding = None, None
    # Windows-1252 is what Excel writes under "CSV" in Italy: Latin-1 plus € and curly quotes.
    for encoding in ("utf-8-sig", "windows-1252", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text):
        raise CsvError(_l("This is not a text file: save the sheet as CSV and try again."))
    return text, encoding


def _delimiter(text: str) -> str:
    """Semicolon (Italian Excel) or comma, whichever the header line uses more, outside quotes."""
    header = _first_record(text)
    unquoted = re.sub(r'"[^"]*"', "", header)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _first_record(text: str) -> str:
    in_quotes = False
    for index, char in enumerate(text):
        if char == '"':
            in_quotes = not in_quotes
        elif char in "\r\n" and not in_quotes:
            return text[:index]
    return text


def column_key(name: str) -> str:
    """``Codice ISTAT`` → ``codice_istat``; ``Località`` → ``localita``."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def read_table(raw: bytes) -> CsvTable:
    text, encoding = decode(raw)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise CsvError(_l("The file has no header line.")) from error
    columns = [column_key(name) for name in header]
    table = CsvTable(columns=columns, delimiter=delimiter, encoding=encoding)
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            problem = None
            unnamed = [i for i, column in enumerate(columns) if not column]
            if any(i < len(cells) and cells[i].strip() for i in unnamed) or (
                len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :])
            ):
                problem = _l("This line has values outside the named columns of the header.")
            values = {
                column: (cells[i].strip() if i < len(cells) else "")
                for i, column in enumerate(columns)
                if column
            }
            table.rows.append(CsvRow(line=line, values=values, problem=problem))
    except csv.Error as error:
        raise CsvError(
            _l("Line %(line)d cannot be read: %(error)s", line=reader.line_num, error=str(error))
        ) from error
    return table


def resolve_columns(
    table: CsvTable, aliases: dict[str, tuple[str, ...]], required: set[str]
) -> tuple[dict[str, str], list]:
    """Map each canonical column to the file's column; list the problems with the header.

    ``aliases`` gives, for each canonical name, the accepted spellings (English and Italian).
    """
    found: dict[str, str] = {}
    problems: list = []
    known = set()
    for canonical, spellings in aliases.items():
        for spelling in (canonical, *spellings):
            known.add(spelling)
            if spelling in table.columns and canonical not in found:
                found[canonical] = spelling
    missing = sorted(required - set(found))
    unknown = [c for c in table.columns if c and c not in known]
    duplicated = sorted({c for c in table.columns if c and table.columns.count(c) > 1})
    expected = ", ".join(aliases)
    if missing:
        problems.append(
            _l(
                "Missing column(s): %(missing)s. Expected columns: %(expected)s.",
                missing=", ".join(missing),
                expected=expected,
            )
        )
    if unknown:
        problems.append(
            _l(
                "Unknown column(s): %(unknown)s. Expected columns: %(expected)s.",
                unknown=", ".join(unknown),
                expected=expected,
            )
        )
    if duplicated:
        problems.append(_l("Repeated column(s): %(columns)s.", columns=", ".join(duplicated)))
    return found, problems
