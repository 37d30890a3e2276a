"""The annex "controdeduzioni alle osservazioni" that goes to the council with the deliberation:
a title page (the plan, its owner, the round, the date, the digest of the data), a table of
contents, the statistics and every observation with its points, outcomes, reasonings and the
changes they made. Two formats of the same content:

- **PDF/A-3b** for the deliberation and long-term archiving, laid out by WeasyPrint from
  ``templates/reports/annex/front.html`` and, in parts, ``observations.html`` (fonts embedded,
  XMP metadata, sRGB output intent, page numbers, a running header with the protocol numbers
  on the page), see :func:`write_pdf`;
- **ODT**, streamed (``app/core/odtstream.py``), for staff to edit before the council.

Both show what the report shows (``queries.report_items``: what may be published, published
decisions only), read in chunks of :data:`CHUNK` observations.

The **digest** on the title page is the SHA-256 of the round's JSON Lines export
(``export.jsonl``) as it stood when the annex was made: anyone can download that export and
check that the annex was made from exactly those data (``sha256sum``). An annex made for a
draft carries the draft's digest (the draft export says ``"draft": true`` in every row).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.core import odtstream
from app.core.db import utcnow
from app.core.formats import format_day, format_when
from app.decisions.models import OUTCOME_LABELS
from app.observations.forms import CHANNEL_LABELS
from app.observations.models import Observation
from app.reports import exports, figures, queries
from app.rounds.models import Round
from app.stakeholders.labels import KIND_LABELS

#: Called as observations are laid out: (observations done, observations in all).
Progress = Callable[[int, int | None], None]

PDF_MIMETYPE = "application/pdf"
FONT_DIR = Path("vendor/bootstrap-italia/fonts/Titillium_Web")
FONT_FILES = {
    ("normal", 400): "titillium-web-v10-latin-ext_latin-regular.ttf",
    ("italic", 400): "titillium-web-v10-latin-ext_latin-italic.ttf",
    ("normal", 700): "titillium-web-v10-latin-ext_latin-700.ttf",
    ("italic", 700): "titillium-web-v10-latin-ext_latin-700italic.ttf",
}


def data_digest(session: Session, round_id: int, *, draft: bool) -> str:
    """The SHA-256 of the round's JSON Lines export, byte for byte (read in chunks)."""
    digest = hashlib.sha256()
    for piece in exports.jsonl(session, round_id, draft=draft):
        digest.update(piece.encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class Front:
    """What the title page says (plain values: the session is emptied as chunks are read)."""

    owner: str
    plan_title: str
    version_label: str
    version_number: int
    round_title: str
    protocol_prefix: str
    opens_at: datetime
    closes_at: datetime
    made_at: datetime
    draft: bool
    digest: str
    observations: int
    points: int

    @property
    def created(self) -> str:
        """When it was made, as the PDF's metadata writes it (W3C date and time)."""
        return self.made_at.replace(microsecond=0).isoformat()


def _front(round_: Round, stats, *, draft: bool, digest: str) -> Front:
    version = round_.version
    return Front(
        owner=version.plan.owner or current_app.config["TRACCIA_OWNER_NAME"],
        plan_title=version.plan.title,
        version_label=version.label,
        version_number=version.number,
        round_title=round_.title,
        protocol_prefix=round_.protocol_prefix,
        opens_at=round_.opens_at,
        closes_at=round_.closes_at,
        made_at=utcnow(),
        draft=draft,
        digest=digest,
        observations=stats.observations,
        points=stats.points,
    )


#: Observations read at a time (as the report's items, with their changes before and after).
CHUNK = 500


def _chunks(session: Session, round_id: int) -> Iterator[tuple[Round, list]]:
    """The round's registered observations in protocol order, :data:`CHUNK` at a time by
    keyset, the session emptied after each chunk (memory stays flat)."""
    after = 0
    while True:
        round_ = session.get(Round, round_id)
        chunk = list(
            session.scalars(
                queries.registered(round_)
                .where(Observation.protocol_number > after)
                .order_by(Observation.protocol_number)
                .limit(CHUNK)
            )
        )
        if not chunk:
            return
        yield round_, chunk
        after = chunk[-1].protocol_number
        session.expunge_all()


def _items(session: Session, round_id: int, total: int, progress: Progress | None) -> Iterator:
    """(the consulted version's sections by id, a report item) for every registered
    observation in protocol order, a chunk at a time."""
    sections = None
    done = 0
    for round_, chunk in _chunks(session, round_id):
        if sections is None:
            sections = exports.sections_of(session, round_)
        for item in queries.report_items(session, round_, chunk):
            yield sections, item
        done += len(chunk)
        if progress:
            progress(done, total)


@contextmanager
def _rendering(language: str | None):
    """Templates and links work in a worker or a command as in a request; in ``language``."""
    language = language or current_app.config["BABEL_DEFAULT_LOCALE"]
    if has_request_context():
        with force_locale(language):
            yield
        return
    base = current_app.config["TRACCIA_BASE_URL"]
    with current_app.test_request_context("/", base_url=base), force_locale(language):
        yield


def _prepare(session: Session, round_id: int, *, draft: bool) -> tuple[Front, dict]:
    digest = data_digest(session, round_id, draft=draft)
    round_ = session.get(Round, round_id)
    view = figures.statistics_view(session, round_)
    return _front(round_, view["figures"], draft=draft, digest=digest), view


def _fonts() -> list[tuple[str, int, str]]:
    """The Titillium Web faces as file URLs, if Bootstrap Italia's fonts are in ``static/``
    (else the PDF falls back to DejaVu Sans: either way every font is embedded)."""
    folder = Path(current_app.static_folder) / FONT_DIR
    return [
        (style, weight, (folder / name).as_uri())
        for (style, weight), name in FONT_FILES.items()
        if (folder / name).is_file()
    ]


def _fetcher(allowed: set[str]):
    """WeasyPrint may read the font files and nothing else: no file of the server, no address
    on the network, whatever a text in the annex says (it is escaped anyway)."""
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url not in allowed:
                raise ValueError("the annex loads nothing but its fonts")
            return super().fetch(url, headers)

    return FontsOnly(allowed_protocols={"file"}, allow_redirects=False)


#: Observations laid out at a time: each part of the PDF is a WeasyPrint document of its own,
#: written to a temporary file and let go before the next (WeasyPrint holds a document's whole
#: layout, about 1 MB a page), so memory stays flat whatever the size of the round.
PDF_PART = 150


def _parts(items: Iterator, size: int) -> Iterator[list]:
    part: list = []
    for item in items:
        part.append(item)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def write_pdf(
    session: Session,
    round_id: int,
    *,
    draft: bool,
    out: BinaryIO,
    language: str | None = None,
    progress: Progress | None = None,
) -> str:
    """The annex as PDF/A-3b into ``out``; returns the digest of the data it shows.

    The title page, the contents and the statistics are laid out first (twice: once to count
    their pages, once with the page where the observations start), then the observations in
    parts of :data:`PDF_PART`, each numbered on from the last; pypdf joins the parts into one
    document that keeps the first part's PDF/A identification (XMP metadata, output intent)."""
    from weasyprint import HTML  # imported here: only the annex needs Pango

    fonts = _fonts()
    fetcher = _fetcher({uri for _style, _weight, uri in fonts})
    with _rendering(language), tempfile.TemporaryDirectory(prefix="traccia-annex-") as folder:
        front, view = _prepare(session, round_id, draft=draft)
        context = {
            "front": front,
            "fonts": fonts,
            # for the page margins (the stylesheet is not read for messages)
            "labels": {"digest": _("Data digest"), "draft": _("DRAFT")},
            "outcome_labels": OUTCOME_LABELS,
            "channel_labels": CHANNEL_LABELS,
            "kind_labels": KIND_LABELS,
            **view,
        }
        options = {"pdf_variant": "pdf/a-3b", "pdf_identifier": front.digest[:32].encode()}

        def lay_out(template: str, **more):
            html = render_template(f"reports/annex/{template}", **context, **more)
            base = current_app.config["TRACCIA_BASE_URL"]
            return HTML(string=html, base_url=base, url_fetcher=fetcher).render()

        counted = len(lay_out("front.html", observations_page="").pages)
        document = lay_out("front.html", observations_page=counted + 1)
        paths = [Path(folder) / "0.pdf"]
        document.write_pdf(paths[0], **options)
        start = len(document.pages) + 1
        del document
        items = _items(session, round_id, front.observations, progress)
        for index, part in enumerate(_parts(items, PDF_PART)):
            document = lay_out("observations.html", items=part, first=index == 0, start_page=start)
            paths.append(Path(folder) / f"{index + 1}.pdf")
            document.write_pdf(paths[-1], **options)
            start += len(document.pages)
            del document
        if len(paths) == 1:  # no observation: the part that says so
            document = lay_out("observations.html", items=[], first=True, start_page=start)
            paths.append(Path(folder) / "1.pdf")
            document.write_pdf(paths[-1], **options)
        _join(paths, out)
    return front.digest


def _join(paths: list[Path], out: BinaryIO) -> None:
    """One PDF of the parts, in order: the first part's catalogue (its XMP metadata, output
    intent, outline) with every page of the others after its own."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=paths[0])
    for path in paths[1:]:
        writer.append(path, import_outline=True)
    writer.add_metadata(PdfReader(paths[0]).metadata)  # the document information, as in the XMP
    writer.write(out)


def write_odt(
    session: Session,
    round_id: int,
    *,
    draft: bool,
    out: BinaryIO,
    language: str | None = None,
    progress: Progress | None = None,
) -> str:
    """The same annex as an OpenDocument text into ``out``, written as it is read (memory
    stays flat); returns the digest of the data it shows."""
    with _rendering(language):
        front, view = _prepare(session, round_id, draft=draft)
        title = _("Observations and responses")
        with odtstream.OdtWriter(out, title=f"{title} — {front.round_title}") as doc:
            _odt_front(doc, front, view)
            doc.heading(1, title)
            for sections, item in _items(session, round_id, front.observations, progress):
                _odt_item(doc, item, sections)
    return front.digest


def _odt_front(doc: odtstream.OdtWriter, front: Front, view: dict) -> None:
    if front.draft:
        doc.paragraph(_("DRAFT — not yet approved"), style="Draft")
    doc.paragraph(front.owner, style="Subtitle")
    doc.paragraph(_("Observations and responses"), style="Title")
    doc.paragraph(f"{front.plan_title} — {front.version_label}", style="Subtitle")
    doc.paragraph(front.round_title, style="Subtitle")
    facts = [
        (
            _("Round"),
            _(
                "%(prefix)s, open from %(start)s to %(end)s",
                prefix=front.protocol_prefix,
                start=format_day(front.opens_at),
                end=format_day(front.closes_at),
            ),
        ),
        (_("Observations registered"), str(front.observations)),
        (_("Points of admissible observations"), str(front.points)),
        (_("Made on"), format_when(front.made_at)),
        (_("Digest of the data (SHA-256 of the JSON Lines export)"), front.digest),
    ]
    for name, value in facts:
        doc.paragraph(f"{name}: {value}")
    doc.page_break()
    doc.table_of_contents(_("Contents"), [_("Statistics"), _("Observations and responses")])
    doc.page_break()
    doc.heading(1, _("Statistics"))
    stats = view["figures"]
    outcomes = view["outcomes"]
    doc.heading(2, _("Points and observations by outcome"))
    doc.table(
        [_("Outcome"), _("Points"), _("Observations")],
        [
            [
                str(OUTCOME_LABELS[o]).capitalize(),
                stats.outcomes.get(o, 0),
                stats.observations_by_outcome.get(o, 0),
            ]
            for o in outcomes
        ]
        + [[_("Not decided yet"), stats.undecided, "—"]],
    )
    for table, rows in view["tables"]:
        doc.heading(2, str(view["titles"][table.dimension]))
        doc.table(
            [_("Value"), _("Observations"), _("Not admissible"), _("Points")]
            + [str(OUTCOME_LABELS[o]).capitalize() for o in outcomes]
            + [_("Not decided yet")],
            [
                [name, row.observations, row.not_admissible, row.points]
                + [row.outcomes.get(o, 0) for o in outcomes]
                + [row.undecided]
                for name, row in rows
            ],
        )
    doc.page_break()


def _from(item: queries.ReportItem) -> str:
    o = item.observation
    organisation = o.organisation
    if organisation is None:
        return item.name or _("A citizen")
    text = f"{organisation.name} ({KIND_LABELS[organisation.kind]}"
    text += f", {organisation.zone.name})" if organisation.zone else ")"
    if organisation.groups:
        text += " — " + ", ".join(g.name for g in organisation.groups)
    if item.name:
        text += " · " + _("Signed by %(name)s", name=item.name)
    return text


def _odt_item(doc: odtstream.OdtWriter, item: queries.ReportItem, sections: dict) -> None:
    o = item.observation
    doc.heading(2, o.protocol_code)
    doc.paragraph(f"{_('From')}: {_from(item)}")
    received = f"{_('Received')}: {format_when(o.received_at)} · {CHANNEL_LABELS[o.channel]}"
    doc.paragraph(received + (f" · {_('late')}" if o.late else ""))
    if not item.admissible:
        reason = f": {item.reason}" if item.reason else ""
        doc.paragraph(f"{_('Not admissible')}{reason}", style="Strong")
        return
    for rp in item.points:
        doc.heading(3, _("Point %(label)s", label=rp.point.label))
        section = sections.get(rp.point.section_id)
        doc.paragraph(
            _("Section %(number)s %(title)s", number=section.number, title=section.title)
            if section
            else _("On the plan as a whole"),
            style="Small",
        )
        if rp.text:
            doc.paragraph(rp.text, style="Quote")
        if rp.decision is None:
            doc.paragraph(_("Not decided yet"))
            continue
        doc.paragraph(f"{_('Outcome')}: {OUTCOME_LABELS[rp.decision.outcome]}", style="Strong")
        if rp.decision.reasoning:
            doc.paragraph(rp.decision.reasoning)
        for change in rp.changes:
            doc.paragraph(change.description, style="Small")
            if change.before is not None:
                doc.pieces(_("Before"), change.before, mark="Deleted")
            if change.after is not None:
                doc.pieces(_("After"), change.after, mark="Inserted")
