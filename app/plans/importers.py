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
import logging
import re
import traceback
import zipfile
from dataclasses import dataclass, field

from flask_babel import format_number

from app.core.i18n import lazy_gettext as _l
from app.plans.models import PlanError
from app.plans.text import clean_html, plain_text, text_to_html

log = logging.getLogger(__name__)

#: Largest total uncompressed size of a DOCX/ODT archive (refuses "ZIP bombs").
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
#: Most XML elements in the part holding the text (document.xml, content.xml): the readers
#: build a tree of them in memory, and a small file can hold millions of tiny ones.
MAX_XML_ELEMENTS = 250_000
#: The largest text an import may hold (a long plan has a few hundred thousand characters).
MAX_TEXT_CHARS = 5_000_000
MAX_PARAGRAPHS = 20_000
MAX_SECTIONS = 5_000
#: Repeated spaces (ODT ``text:s``) and merged columns kept at most.
MAX_REPEAT = 100
MAX_COLSPAN = 64
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

_NUMBERED = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?\s+(\S.*)$")


class ImportError_(PlanError):
    """A file that cannot be imported, with the reason to show."""


_DAMAGED = _l("The file is damaged and cannot be read.")
_UNREADABLE = _l(
    "The file is damaged or uses features we cannot read: nothing was imported. Save it again "
    "from your word processor (or as another format) and try again."
)


def _int(value, default: int, lowest: int, highest: int) -> int:
    """An integer attribute read from a file: the default when missing or malformed, clamped."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(lowest, min(number, highest))


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
        self.paragraphs = 0
        self.chars = 0
        self._preamble: ParsedSection | None = None

    def heading(self, level: int, text: str) -> None:
        text = re.sub(r"\s+", " ", text).strip()
        if not text:
            return
        self.headings += 1
        if len(self.sections) >= MAX_SECTIONS:
            raise ImportError_(
                _l(
                    "The document is too long to import: it has more than %(count)s sections.",
                    count=format_number(MAX_SECTIONS),
                )
            )
        match = _NUMBERED.match(text)
        number, title = (match.group(1), match.group(2)) if match else ("", text)
        self.sections.append(ParsedSection(max(1, min(level, 6)), number, title[:500]))

    def paragraph(self, fragment: str) -> None:
        cleaned = clean_html(fragment)
        text = plain_text(cleaned)
        if not text:
            return
        self.paragraphs += 1
        self.chars += len(text)
        if self.paragraphs > MAX_PARAGRAPHS:
            raise ImportError_(
                _l(
                    "The document is too long to import: it has more than %(count)s paragraphs.",
                    count=format_number(MAX_PARAGRAPHS),
                )
            )
        if self.chars > MAX_TEXT_CHARS:
            raise ImportError_(
                _l(
                    "The document is too long to import: it has more than %(count)s characters "
                    "of text.",
                    count=format_number(MAX_TEXT_CHARS),
                )
            )
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
                    _check_elements(archive, "word/document.xml")
                    return "docx"
                if "mimetype" in names and archive.read("mimetype").strip() == ODT_MIMETYPE:
                    if "content.xml" not in names:
                        raise ImportError_(_DAMAGED)
                    _check_elements(archive, "content.xml")
                    return "odt"
        except ImportError_:
            raise
        except Exception:  # noqa: BLE001 - bad archives, compression or encryption
            raise ImportError_(_DAMAGED) from None
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


def _check_elements(archive: zipfile.ZipFile, part: str) -> None:
    """Refuse a part with more elements than :data:`MAX_XML_ELEMENTS`, counting them as they
    stream by (nothing is kept, entities are not expanded)."""
    from lxml import etree

    count = 0
    try:
        with archive.open(part) as stream:
            for _event, element in etree.iterparse(
                stream, events=("end",), resolve_entities=False, no_network=True
            ):
                count += 1
                if count > MAX_XML_ELEMENTS:
                    raise ImportError_(
                        _l(
                            "The document is too complex to import (more than %(count)s XML "
                            "elements): split it into smaller documents.",
                            count=format_number(MAX_XML_ELEMENTS),
                        )
                    )
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError:
        raise ImportError_(_DAMAGED) from None


def parse(data: bytes) -> tuple[str, list[dict]]:
    """Recognise and parse a file: (format, sections).

    Whatever goes wrong inside a reader becomes an :class:`ImportError_` with a message for the
    editor; the problem is logged without the file's content.
    """
    file_format = "unrecognised"
    try:
        file_format = detect_format(data)
        parser = {"docx": parse_docx, "odt": parse_odt, "markdown": parse_markdown}[file_format]
        return file_format, parser(data)
    except ImportError_:
        raise
    except Exception as error:  # noqa: BLE001 - a file can break a reader in many ways
        # The message may quote the file: log the kind of error and where it happened only.
        where = "".join(traceback.format_tb(error.__traceback__, limit=-3)).strip()
        log.warning(
            "unreadable %s import (%d bytes): %s\n%s",
            file_format,
            len(data),
            type(error).__name__,
            where,
        )
        raise ImportError_(_UNREADABLE) from None


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

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_HEADING_STYLE = re.compile(r"^(?:heading|titolo|título|titre|überschrift)\s*(\d)$", re.IGNORECASE)
#: Text that is no longer in the document (tracked deletions, moved away) or not text at all.
_DOCX_SKIP = {
    f"{_W}{name}"
    for name in ("del", "moveFrom", "pPr", "rPr", "sdtPr", "sdtEndPr", "tcPr", "trPr", "tblPr")
}
#: Block-level wrappers whose content is part of the text (content controls, custom XML).
_DOCX_BLOCK_WRAPPERS = {f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"}


def _w(element, path: str):
    """The descendant at ``path`` (``pPr/pStyle``, in the ``w:`` namespace), or None."""
    for name in path.split("/"):
        if element is None:
            return None
        element = element.find(f"{_W}{name}")
    return element


def _w_val(element, path: str) -> str | None:
    """The ``w:val`` of the descendant at ``path``, or None."""
    found = _w(element, path)
    return None if found is None else found.get(f"{_W}val")


def _on(rpr, name: str) -> bool:
    """A run property such as bold: present and not switched off."""
    flag = _w(rpr, name)
    if flag is None:
        return False
    return (flag.get(f"{_W}val") or "true").strip().lower() not in {"0", "false", "off", "none"}


def _docx_run_html(run) -> str:
    out = []
    for child in run:
        tag = child.tag
        if tag == f"{_W}t":
            out.append(html.escape(child.text or "", quote=False))
        elif tag in (f"{_W}tab", f"{_W}ptab"):
            out.append(" ")
        elif tag == f"{_W}cr" or (
            tag == f"{_W}br" and child.get(f"{_W}type") in (None, "textWrapping")
        ):
            out.append("<br>")
        elif tag == f"{_W}noBreakHyphen":
            out.append("-")
    text = "".join(out)
    if not text:
        return ""
    rpr = _w(run, "rPr")
    if _on(rpr, "b"):
        text = f"<strong>{text}</strong>"
    if _on(rpr, "i"):
        text = f"<em>{text}</em>"
    return text


def _docx_inline_html(element, rels) -> str:
    """The runs of a paragraph in order, including those inside tracked insertions, smart tags,
    simple fields, content controls and custom XML; tracked deletions are left out."""
    out = []
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _DOCX_SKIP:
            continue
        if tag == f"{_W}r":
            out.append(_docx_run_html(child))
        elif tag == f"{_W}hyperlink":
            inner = _docx_inline_html(child, rels)
            rel = rels.get(child.get(_R_ID) or "")
            address = rel.target_ref if rel is not None and rel.is_external else ""
            out.append(f'<a href="{html.escape(address)}">{inner}</a>' if address else inner)
        else:
            out.append(_docx_inline_html(child, rels))
    return "".join(out)


def _docx_paragraphs(element):
    """The paragraphs inside a table cell, through content controls and nested tables."""
    return element.iter(f"{_W}p")


def _docx_table_html(table, rels) -> str:
    """Rows built from each row's own cells, once: a merged cell is one ``<td>`` with its
    ``colspan`` and ``rowspan`` (python-docx's ``row.cells`` would repeat it per grid column)."""
    rows: list[list[dict]] = []
    above: dict[int, dict] = {}  # grid column -> the cell started there in the row above
    for row in _docx_children(table, "tr"):
        cells: list[dict] = []
        current: dict[int, dict] = {}
        column = _int(_w_val(row, "trPr/gridBefore"), 0, 0, MAX_COLSPAN)
        for cell in _docx_children(row, "tc"):
            span = _int(_w_val(cell, "tcPr/gridSpan"), 1, 1, MAX_COLSPAN)
            merge = _w(cell, "tcPr/vMerge")
            continues = merge is not None and merge.get(f"{_W}val") != "restart"
            if continues and column in above:
                above[column]["rowspan"] += 1
                current[column] = above[column]
            else:
                content = [_docx_inline_html(p, rels) for p in _docx_paragraphs(cell)]
                new = {"html": "<br>".join(c for c in content if c), "colspan": span, "rowspan": 1}
                cells.append(new)
                current[column] = new
            column += span
        rows.append(cells)
        above = current
    return "<table><tbody>{}</tbody></table>".format(
        "".join(f"<tr>{''.join(_td(cell) for cell in cells)}</tr>" for cells in rows if cells)
    )


def _td(cell: dict) -> str:
    attrs = "".join(f' {name}="{cell[name]}"' for name in ("colspan", "rowspan") if cell[name] > 1)
    return f"<td{attrs}>{cell['html']}</td>"


def _docx_children(element, *names: str):
    """The children with these names in document order, inside content controls and custom XML
    too (a table's rows, a row's cells, the body's paragraphs and tables)."""
    tags = {f"{_W}{name}" for name in names}
    for child in element:
        if child.tag in tags:
            yield child
        elif child.tag in _DOCX_BLOCK_WRAPPERS:
            yield from _docx_children(child, *names)


def _docx_heading_level(paragraph, names: dict[str, str]) -> int | None:
    style_id = _w_val(paragraph, "pPr/pStyle") or ""
    for name in (names.get(style_id, ""), style_id):
        match = _HEADING_STYLE.match(name.strip())
        if match:
            return int(match.group(1))
    outline = _w_val(paragraph, "pPr/outlineLvl")
    if outline is not None and outline.strip().isdigit() and int(outline) < 9:
        return int(outline) + 1
    return None


def parse_docx(data: bytes) -> list[dict]:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - python-docx raises many kinds on damaged files
        raise ImportError_(_DAMAGED) from None
    # Style names by id, read once (python-docx's paragraph.style searches every time).
    names = {style.style_id: style.name or "" for style in document.styles}
    rels = document.part.rels
    builder = Builder()
    for block in _docx_children(document.element.body, "p", "tbl"):
        if block.tag == f"{_W}tbl":
            builder.paragraph(_docx_table_html(block, rels))
            continue
        inner = _docx_inline_html(block, rels)
        level = _docx_heading_level(block, names)
        style_name = names.get(_w_val(block, "pPr/pStyle") or "", "")
        if level is not None:
            builder.heading(level, plain_text(clean_html(inner)))
        elif _w(block, "pPr/numPr") is not None or style_name.lower().startswith("list"):
            builder.paragraph(f"<ul><li>{inner}</li></ul>")
        else:
            builder.paragraph(inner)
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
                out.append(" " * _int(child.getAttribute("c"), 1, 1, MAX_REPEAT))
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


def _odf_children(node, *names: str):
    from odf.element import Element

    for child in node.childNodes:
        if isinstance(child, Element) and child.qname[1] in names:
            yield child


def _odf_rows(table):
    """A table's rows, inside header-rows and row groups too (not those of nested tables)."""
    for child in _odf_children(
        table, "table-row", "table-header-rows", "table-rows", "table-row-group"
    ):
        if child.qname[1] == "table-row":
            yield child
        else:
            yield from _odf_rows(child)


def _odf_cell_paragraphs(node):
    for child in _odf_children(
        node,
        "p",
        "h",
        "list",
        "list-item",
        "list-header",
        "section",
        "table",
        "table-row",
        "table-cell",
        "table-header-rows",
        "table-rows",
        "table-row-group",
    ):
        if child.qname[1] in {"p", "h"}:
            yield child
        else:
            yield from _odf_cell_paragraphs(child)


def _odf_table_html(table) -> str:
    """Merged cells appear once, with their spans; covered cells are left out."""
    rows = []
    for row in _odf_rows(table):
        cells = []
        for cell in _odf_children(row, "table-cell"):
            content = [_odf_inline_html(p) for p in _odf_cell_paragraphs(cell)]
            spans = {
                "colspan": _int(cell.getAttribute("numbercolumnsspanned"), 1, 1, MAX_COLSPAN),
                "rowspan": _int(cell.getAttribute("numberrowsspanned"), 1, 1, 10_000),
            }
            cells.append(_td({"html": "<br>".join(c for c in content if c), **spans}))
        if cells:
            rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def _odf_walk(node, builder: Builder, in_list: bool = False) -> None:
    from odf.element import Element

    for child in node.childNodes:
        if not isinstance(child, Element):
            continue
        name = child.qname[1]
        if name == "h":
            level = _int(child.getAttribute("outlinelevel"), 1, 1, 10)
            builder.heading(level, plain_text(clean_html(_odf_inline_html(child))))
        elif name == "p":
            inner = _odf_inline_html(child)
            builder.paragraph(f"<ul><li>{inner}</li></ul>" if in_list else inner)
        elif name in {"list", "list-item", "list-header"}:
            _odf_walk(child, builder, in_list=True)
        elif name in {"section", "div"}:
            _odf_walk(child, builder, in_list)
        elif name == "table":
            builder.paragraph(_odf_table_html(child))


def parse_odt(data: bytes) -> list[dict]:
    from odf.opendocument import load

    try:
        document = load(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - odfpy raises many kinds on damaged files
        raise ImportError_(_DAMAGED) from None
    builder = Builder()
    _odf_walk(document.text, builder)
    return builder.result()
