"""An OpenDocument text (ODT), written as it goes: headings, paragraphs, tables, a table of
contents and page breaks go straight into ``content.xml`` inside the ZIP archive, so memory
stays flat however long the document (odfpy builds the whole tree first: a 20,000-row table
took it 9.5 s and 296 MB).

The package holds what ODF 1.2 asks for: ``mimetype`` first and stored, the manifest,
``meta.xml`` (title, date, generator), ``styles.xml`` (A4 pages with the page number in the
footer, the paragraph and heading styles, inserted and deleted words) and ``content.xml``.
LibreOffice and odfpy open it; headings carry outline levels, so the table of contents
updates in a word processor. Characters XML cannot hold are dropped.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from app.core.odsstream import _NOT_XML

MIMETYPE = "application/vnd.oasis.opendocument.text"

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"'
    ' xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' office:version="1.2"'
)

_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    ' manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPE}"/>'
    + "".join(
        f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>'
        for name in ("content.xml", "styles.xml", "meta.xml")
    )
    + "</manifest:manifest>"
)

_FONT = '<style:text-properties style:font-name="Titillium Web" fo:font-size="{size}"{more}/>'


def _paragraph_style(name: str, display: str, size: str = "10pt", more: str = "", para="") -> str:
    return (
        f'<style:style style:name="{name}" style:display-name="{display}" style:family="paragraph"'
        ' style:parent-style-name="Standard">'
        f'<style:paragraph-properties fo:margin-bottom="0.15cm"{para}/>'
        + _FONT.format(size=size, more=more)
        + "</style:style>"
    )


def _heading_style(level: int, size: str) -> str:
    return (
        f'<style:style style:name="Heading_20_{level}" style:display-name="Heading {level}"'
        ' style:family="paragraph" style:parent-style-name="Standard"'
        f' style:default-outline-level="{level}">'
        '<style:paragraph-properties fo:margin-top="0.4cm" fo:margin-bottom="0.2cm"'
        ' fo:keep-with-next="always"/>'
        + _FONT.format(size=size, more=' fo:font-weight="bold"')
        + "</style:style>"
    )


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f"<office:document-styles {_NS}>"
    '<office:font-face-decls xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0">'
    '<style:font-face style:name="Titillium Web" svg:font-family="\'Titillium Web\'"/>'
    "</office:font-face-decls>"
    "<office:styles>"
    '<style:style style:name="Standard" style:family="paragraph">'
    + _FONT.format(size="10pt", more="")
    + "</style:style>"
    + _paragraph_style("Title", "Title", "22pt", ' fo:font-weight="bold"', ' fo:margin-top="2cm"')
    + _paragraph_style("Subtitle", "Subtitle", "13pt")
    + _paragraph_style("Draft", "Draft", "13pt", ' fo:font-weight="bold" fo:color="#a61e1e"')
    + _paragraph_style("Small", "Small", "8.5pt", ' fo:color="#3d4955"')
    + _paragraph_style("Strong", "Strong", "10pt", ' fo:font-weight="bold"')
    + _paragraph_style(
        "Quote", "Quote", "10pt", ' fo:font-style="italic"', ' fo:margin-left="0.6cm"'
    )
    + _paragraph_style("Table_20_Contents", "Table Contents", "9pt")
    + _paragraph_style("Table_20_Heading", "Table Heading", "9pt", ' fo:font-weight="bold"')
    + _paragraph_style("Contents_20_1", "Contents 1", "11pt")
    + _paragraph_style("Footer", "Footer", "8.5pt", "", ' fo:text-align="center"')
    + _heading_style(1, "16pt")
    + _heading_style(2, "13pt")
    + _heading_style(3, "11pt")
    + '<style:style style:name="Inserted" style:family="text"><style:text-properties'
    ' style:text-underline-style="solid" style:text-underline-width="auto"'
    ' style:text-underline-color="font-color" fo:background-color="#d9f2e1"/></style:style>'
    '<style:style style:name="Deleted" style:family="text"><style:text-properties'
    ' style:text-line-through-style="solid" fo:background-color="#f8dcdc"/></style:style>'
    '<style:style style:name="Label" style:family="text">'
    '<style:text-properties fo:font-weight="bold"/></style:style>'
    "</office:styles>"
    "<office:automatic-styles>"
    '<style:page-layout style:name="A4"><style:page-layout-properties fo:page-width="21cm"'
    ' fo:page-height="29.7cm" fo:margin-top="1.8cm" fo:margin-bottom="1.5cm"'
    ' fo:margin-left="2cm" fo:margin-right="2cm"/>'
    '<style:footer-style><style:header-footer-properties fo:min-height="0.8cm"/>'
    "</style:footer-style></style:page-layout>"
    "</office:automatic-styles>"
    '<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="A4">'
    '<style:footer><text:p text:style-name="Footer"><text:page-number text:select-page="current"/>'
    "</text:p></style:footer></style:master-page></office:master-styles>"
    "</office:document-styles>"
)

_CONTENT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f"<office:document-content {_NS}>"
    "<office:automatic-styles>"
    '<style:style style:name="Break" style:family="paragraph" style:parent-style-name="Standard">'
    '<style:paragraph-properties fo:break-before="page"/></style:style>'
    '<style:style style:name="Grid" style:family="table-cell"><style:table-cell-properties'
    ' fo:padding="0.05cm" fo:border="0.5pt solid #8a8a8a"/></style:style>'
    "</office:automatic-styles>"
    "<office:body><office:text>"
)
_CONTENT_FOOT = "</office:text></office:body></office:document-content>"


def _text(value) -> str:
    return escape(_NOT_XML.sub("", "" if value is None else str(value)))


class OdtWriter:
    """``with OdtWriter(out, title=...) as doc: doc.heading(1, ...); doc.paragraph(...)``."""

    def __init__(self, out: BinaryIO, *, title: str, generator: str = "Traccia") -> None:
        self._archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        self._title = title
        self._generator = generator
        self._content = None
        self._break_next = False

    def __enter__(self) -> OdtWriter:
        archive = self._archive
        archive.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        archive.writestr("styles.xml", _STYLES)
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
        archive.writestr(
            "meta.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<office:document-meta {_NS}><office:meta>"
            f"<dc:title>{_text(self._title)}</dc:title>"
            f"<meta:generator>{_text(self._generator)}</meta:generator>"
            f"<meta:creation-date>{now}</meta:creation-date><dc:date>{now}</dc:date>"
            "</office:meta></office:document-meta>",
        )
        self._content = archive.open("content.xml", "w")
        self._write(_CONTENT_HEAD)
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self._write(_CONTENT_FOOT)
        self._content.close()
        self._archive.close()

    def _write(self, xml: str) -> None:
        self._content.write(xml.encode("utf-8"))

    def _style(self, style: str | None) -> str:
        if self._break_next:
            self._break_next = False
            return "Break"
        return style or "Standard"

    def _pending_break(self) -> None:
        """Headings and tables keep their own style: a page break due before them goes on an
        empty paragraph."""
        if self._break_next:
            self._break_next = False
            self._write('<text:p text:style-name="Break"/>')

    def page_break(self) -> None:
        """The next paragraph or heading starts a page."""
        self._break_next = True

    def heading(self, level: int, text: str) -> None:
        self._pending_break()
        self._write(
            f'<text:h text:style-name="Heading_20_{level}" text:outline-level="{level}">'
            f"{_text(text)}</text:h>"
        )

    def paragraph(self, text: str, *, style: str | None = None) -> None:
        self._write(f'<text:p text:style-name="{self._style(style)}">{_text(text)}</text:p>')

    def pieces(self, label: str, pieces: Iterable, *, mark: str) -> None:
        """A paragraph of text pieces (``.text``, ``.changed``), the changed ones in the
        ``mark`` text style (``Inserted`` or ``Deleted``), after a bold label."""
        body = "".join(
            f'<text:span text:style-name="{mark}">{_text(p.text)}</text:span>'
            if p.changed
            else _text(p.text)
            for p in pieces
        )
        self._write(
            f'<text:p text:style-name="{self._style(None)}">'
            f'<text:span text:style-name="Label">{_text(label)}:</text:span> {body}</text:p>'
        )

    def table(self, header: list, rows: Iterable[list]) -> None:
        header = list(header)
        self._pending_break()
        self._write(
            "<table:table>"
            f'<table:table-column table:number-columns-repeated="{len(header)}"/>'
            "<table:table-header-rows>"
            + self._row(header, "Table_20_Heading")
            + "</table:table-header-rows>"
        )
        for row in rows:
            self._write(self._row(row, "Table_20_Contents"))
        self._write("</table:table>")

    @staticmethod
    def _row(values: Iterable, style: str) -> str:
        cells = "".join(
            '<table:table-cell table:style-name="Grid" office:value-type="string">'
            f'<text:p text:style-name="{style}">{_text(v)}</text:p></table:table-cell>'
            for v in values
        )
        return f"<table:table-row>{cells}</table:table-row>"

    def table_of_contents(self, title: str, entries: Iterable[str]) -> None:
        """A table of contents of the level-1 headings, filled with ``entries`` (their page
        numbers come when a word processor updates it)."""
        body = "".join(
            f'<text:p text:style-name="Contents_20_1">{_text(e)}</text:p>' for e in entries
        )
        self._write(
            f'<text:table-of-content text:name="{_text(title)}" text:protected="true">'
            '<text:table-of-content-source text:outline-level="1">'
            f"<text:index-title-template>{_text(title)}</text:index-title-template>"
            "</text:table-of-content-source>"
            f"<text:index-body><text:index-title text:name={quoteattr(title + ' head')}>"
            f'<text:p text:style-name="Heading_20_1">{_text(title)}</text:p></text:index-title>'
            f"{body}</text:index-body></text:table-of-content>"
        )
