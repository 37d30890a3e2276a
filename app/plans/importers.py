"""Reading Markdown, ODT and DOCX files into a neutral structure.

The structure is a flat list of sections in document order, each with its heading level, number,
title and paragraphs (cleaned HTML and plain text); it is JSON-serialisable so that it can wait
in a :class:`~app.plans.models.PlanImport` row between the preview and the confirmation.

The format is recognised by content, never by the file name: a DOCX or ODT is a ZIP archive with
the parts of its format, Markdown is UTF-8 text.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from app.plans.models import PlanError
from app.plans.text import clean_html, plain_text, text_to_html

#: Largest total uncompressed size of a DOCX/ODT archive (refuses "ZIP bombs").
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

_NUMBERED = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?\s+(\S.*)$")


class ImportError_(PlanError):
    """A file that cannot be imported, with the reason to show."""


@dataclass
class ParsedSection:
    level: int
    number: str
    title: str
    paragraphs: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "level": self.level,
            "number": self.number,
            "title": self.title,
            "paragraphs": self.paragraphs,
        }


class Builder:
    """Collects headings and paragraphs in document order."""

    def __init__(self) -> None:
        self.sections: list[ParsedSection] = []
        self.headings = 0
        self._preamble: ParsedSection | None = None

    def heading(self, level: int, text: str) -> None:
        text = re.sub(r"\s+", " ", text).strip()
        if not text:
            return
        self.headings += 1
        match = _NUMBERED.match(text)
        number, title = (match.group(1), match.group(2)) if match else ("", text)
        self.sections.append(ParsedSection(max(1, min(level, 6)), number, title[:500]))

    def paragraph(self, fragment: str) -> None:
        cleaned = clean_html(fragment)
        text = plain_text(cleaned)
        if not text:
            return
        if not self.sections:
            self._preamble = ParsedSection(1, "", str(_l("Introduction")))
            self.sections.append(self._preamble)
        self.sections[-1].paragraphs.append({"html": cleaned, "text": text})

    def result(self) -> list[dict]:
        if not any(section.paragraphs for section in self.sections) and not self.headings:
            raise ImportError_(_l("The document is empty: there is no text to import."))
        if not self.headings:
            raise ImportError_(
                _l(
                    "The document has no headings, so its sections cannot be recognised. Use "
                    "heading styles (Heading 1, Heading 2, …) for the section titles and try "
                    "again."
                )
            )
        return [section.as_dict() for section in self.sections]


# Detection ---------------------------------------------------------------------------------


def detect_format(data: bytes) -> str:
    """'docx', 'odt' or 'markdown', from the content; refuses anything else."""
    if not data.strip():
        raise ImportError_(_l("The file is empty."))
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
                    raise ImportError_(_l("The file is too large once uncompressed."))
                if "word/document.xml" in names:
                    return "docx"
                if "mimetype" in names and archive.read("mimetype").strip() == ODT_MIMETYPE:
                    return "odt"
        except zipfile.BadZipFile:
            raise ImportError_(_l("The file is damaged and cannot be read.")) from None
        raise ImportError_(_UNSUPPORTED)
    if b"\x00" in data[:8192]:
        raise ImportError_(_UNSUPPORTED)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportError_(_UNSUPPORTED) from None
    return "markdown"


_UNSUPPORTED = _l(
    "This kind of file is not supported. Upload a Word document (DOCX), an OpenDocument text "
    "(ODT) or a Markdown text file."
)


def parse(data: bytes) -> tuple[str, list[dict]]:
    """Recognise and parse a file: (format, sections)."""
    file_format = detect_format(data)
    parser = {"docx": parse_docx, "odt": parse_odt, "markdown": parse_markdown}[file_format]
    return file_format, parser(data)


# Markdown ----------------------------------------------------------------------------------


def parse_markdown(data: bytes) -> list[dict]:
    from lxml import html as lxml_html
    from markdown_it import MarkdownIt

    source = data.decode("utf-8").lstrip("\ufeff")
    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render(source)
    builder = Builder()
    if rendered.strip():
        root = lxml_html.fragment_fromstring(rendered, create_parent="div")
        _walk_html(root, builder)
    return builder.result()


def _inner_html(element) -> str:
    from lxml import html as lxml_html

    parts = [html.escape(element.text or "", quote=False)]
    parts.extend(lxml_html.tostring(child, encoding="unicode") for child in element)
    return "".join(parts)


def _walk_html(root, builder: Builder) -> None:
    from lxml import html as lxml_html

    for element in root:
        tag = element.tag if isinstance(element.tag, str) else ""
        if re.fullmatch(r"h[1-6]", tag):
            builder.heading(int(tag[1]), element.text_content())
        elif tag in {"ul", "ol"}:
            start = int(element.get("start", "1")) if tag == "ol" else 1
            for index, item in enumerate(element.findall("li")):
                attrs = f' start="{start + index}"' if tag == "ol" else ""
                builder.paragraph(f"<{tag}{attrs}><li>{_inner_html(item)}</li></{tag}>")
        elif tag == "blockquote":
            _walk_html(element, builder)
        elif tag == "pre":
            builder.paragraph(text_to_html(element.text_content()))
        elif tag in {"p", "table"}:
            builder.paragraph(
                _inner_html(element)
                if tag == "p"
                else lxml_html.tostring(element, encoding="unicode")
            )


# DOCX --------------------------------------------------------------------------------------

_HEADING_STYLE = re.compile(r"^(?:heading|titolo|título|titre|überschrift)\s*(\d)$", re.IGNORECASE)


def _docx_heading_level(paragraph, style_name: str) -> int | None:
    for name in (style_name, paragraph._p.style):
        if name:
            match = _HEADING_STYLE.match(name.strip())
            if match:
                return int(match.group(1))
    outline = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if outline and outline[0].isdigit() and int(outline[0]) < 9:
        return int(outline[0]) + 1
    return None


def _docx_runs_html(paragraph) -> str:
    from docx.text.hyperlink import Hyperlink

    out = []
    for item in paragraph.iter_inner_content():
        if isinstance(item, Hyperlink):
            text = html.escape(item.text, quote=False)
            address = item.address
            out.append(f'<a href="{html.escape(address)}">{text}</a>' if address else text)
            continue
        text = html.escape(item.text, quote=False)
        if not text:
            continue
        if item.bold:
            text = f"<strong>{text}</strong>"
        if item.italic:
            text = f"<em>{text}</em>"
        out.append(text)
    return "".join(out)


def _docx_is_list(paragraph, style_name: str) -> bool:
    if paragraph._p.xpath("./w:pPr/w:numPr"):
        return True
    return style_name.lower().startswith("list")


def _docx_table_html(table) -> str:
    rows = []
    for row in table.rows:
        cells = "".join(f"<td>{html.escape(cell.text, quote=False)}</td>" for cell in row.cells)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def parse_docx(data: bytes) -> list[dict]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - python-docx raises many kinds on damaged files
        raise ImportError_(_l("The file is damaged and cannot be read.")) from None
    # Style names by id, read once: python-docx's paragraph.style searches every time.
    names = {style.style_id: style.name or "" for style in document.styles}
    builder = Builder()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            builder.paragraph(_docx_table_html(block))
            continue
        style_name = names.get(block._p.style, "")
        level = _docx_heading_level(block, style_name)
        if level is not None:
            builder.heading(level, block.text)
        elif _docx_is_list(block, style_name):
            builder.paragraph(f"<ul><li>{_docx_runs_html(block)}</li></ul>")
        else:
            builder.paragraph(_docx_runs_html(block))
    return builder.result()


# ODT ---------------------------------------------------------------------------------------


def _odf_inline_html(node) -> str:
    from odf.element import Element, Text

    out = []
    for child in node.childNodes:
        if isinstance(child, Text):
            out.append(html.escape(str(child), quote=False))
        elif isinstance(child, Element):
            name = child.qname[1]
            if name == "s":
                out.append(" " * int(child.getAttribute("c") or 1))
            elif name == "tab":
                out.append(" ")
            elif name == "line-break":
                out.append("<br>")
            elif name == "a":
                href = child.getAttribute("href") or ""
                out.append(f'<a href="{html.escape(href)}">{_odf_inline_html(child)}</a>')
            elif name in {"note", "annotation", "bookmark", "bookmark-start", "bookmark-end"}:
                continue
            else:
                out.append(_odf_inline_html(child))
    return "".join(out)


def _odf_walk(node, builder: Builder, in_list: bool = False) -> None:
    from odf.element import Element
    from odf.teletype import extractText

    for child in node.childNodes:
        if not isinstance(child, Element):
            continue
        name = child.qname[1]
        if name == "h":
            builder.heading(int(child.getAttribute("outlinelevel") or 1), extractText(child))
        elif name == "p":
            inner = _odf_inline_html(child)
            builder.paragraph(f"<ul><li>{inner}</li></ul>" if in_list else inner)
        elif name in {"list", "list-item", "list-header"}:
            _odf_walk(child, builder, in_list=True)
        elif name in {"section", "div"}:
            _odf_walk(child, builder, in_list)
        elif name == "table":
            rows = []
            for row in child.getElementsByType(_odf_table_row()):
                cells = "".join(
                    f"<td>{html.escape(extractText(cell), quote=False)}</td>"
                    for cell in row.childNodes
                    if isinstance(cell, Element) and cell.qname[1] == "table-cell"
                )
                rows.append(f"<tr>{cells}</tr>")
            builder.paragraph(f"<table><tbody>{''.join(rows)}</tbody></table>")


def _odf_table_row():
    from odf.table import TableRow

    return TableRow


def parse_odt(data: bytes) -> list[dict]:
    from odf.opendocument import load

    try:
        document = load(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - odfpy raises many kinds on damaged files
        raise ImportError_(_l("The file is damaged and cannot be read.")) from None
    builder = Builder()
    _odf_walk(document.text, builder)
    return builder.result()
