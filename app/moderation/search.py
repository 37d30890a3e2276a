"""Full-text search over what a round received: title, body, proposed text, the points'
summaries and the text of the attachments (read once, at registration).

The same behaviour on both databases, by construction:

- the stored document and the words searched for are **folded** here, in Python (accents
  removed, ``mobilità`` → ``mobilita``), so no database extension is needed;
- SQLite: an FTS5 table over ``search_documents`` (``unicode61 remove_diacritics 2``), kept in
  step by triggers; every word searched for is quoted, so FTS5's operators (``"``, ``*``,
  ``NEAR``, ``AND``, ``-``, parentheses) are only words;
- PostgreSQL: a stored, generated ``tsvector`` column (``document_fts``, computed once as
  ``to_tsvector('italian', document)`` when a document is written) with a GIN index; the words
  go through ``plainto_tsquery``, which knows no operators, and the Italian stemmer makes
  ``ciclabili`` find ``ciclabile`` (SQLite matches whole words only).

Every word must be present (AND). A search string is bounded (:data:`QUERY_MAX` characters,
:data:`TERMS_MAX` words); beyond that, or with no word in it, :class:`SearchError` says so.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile

from sqlalchemy import Integer, literal_column, select, text
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation.models import AttachmentText, ModerationError, SearchDocument, TextStatus
from app.observations.files import DOCX, ODT, PDF
from app.observations.models import Attachment, Observation, Point

log = logging.getLogger(__name__)

QUERY_MAX = 200
TERMS_MAX = 12
#: At most this much text is kept from one attachment, and this many PDF pages are read.
ATTACHMENT_TEXT_MAX = 500_000
PDF_PAGES_MAX = 500
#: A DOCX or ODT whose XML part has more elements than this is not read (see plans.importers).
XML_ELEMENTS_MAX = 250_000
XML_PART_MAX_BYTES = 50 * 1024 * 1024

FTS_TABLE = "search_documents_fts"
PG_CONFIG = "italian"

_WORD = re.compile(r"[^\W_]+")


class SearchError(ModerationError):
    """The search string cannot be searched for as it is (too long, no word in it)."""


def fold(value: str) -> str:
    """Lower case without diacritics: ``Mobilità`` → ``mobilita``."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


def terms(query: str | None) -> list[str]:
    """The words to search for, folded; refuses what cannot be searched as it is."""
    query = (query or "").strip()
    if len(query) > QUERY_MAX:
        raise SearchError(_l("Search for at most %(n)d characters.", n=QUERY_MAX), "q")
    words = _WORD.findall(fold(query))
    if query and not words:
        raise SearchError(_l("Type at least one word to search for."), "q")
    if len(words) > TERMS_MAX:
        raise SearchError(_l("Search for at most %(n)d words.", n=TERMS_MAX), "q")
    return list(dict.fromkeys(words))


def matching_ids(session: Session, words: list[str]):
    """A SELECT of the observation ids whose document holds every word."""
    if session.get_bind().dialect.name == "postgresql":
        vector = literal_column("search_documents.document_fts")  # stored: to_tsvector(document)
        query = text(f"plainto_tsquery('{PG_CONFIG}'::regconfig, :search_words)").bindparams(
            search_words=" ".join(words)
        )
        return select(SearchDocument.observation_id).where(vector.op("@@")(query))
    expression = " ".join(f'"{word}"' for word in words)  # words hold no quote (see _WORD)
    return (
        text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :search_words")  # noqa: S608 - a constant name
        .bindparams(search_words=expression)
        .columns(rowid=Integer)
    )


# Attachment text, read once ----------------------------------------------------------------


def extract_text(content_type: str, data: bytes) -> tuple[TextStatus, str, bool]:
    """(status, text, truncated) of a checked attachment; never raises for a bad file."""
    try:
        if content_type == PDF:
            raw = _pdf_text(data)
        elif content_type == DOCX:
            raw = _xml_text(data, "word/document.xml", paragraph="p", run="t", ns=_W)
        elif content_type == ODT:
            raw = _xml_text(data, "content.xml", paragraph=("p", "h"), run=None, ns=_TEXT)
        else:
            return TextStatus.FAILED, "", False
    except Exception as error:  # noqa: BLE001 - a file can break a reader in many ways
        # Log the kind of error only: its message may quote the file.
        log.warning(
            "attachment text not read (%s, %d bytes): %s",
            content_type,
            len(data),
            type(error).__name__,
        )
        return TextStatus.FAILED, "", False
    cleaned = re.sub(r"[ \t\u00a0]+", " ", raw).strip()
    truncated = len(cleaned) > ATTACHMENT_TEXT_MAX
    cleaned = cleaned[:ATTACHMENT_TEXT_MAX]
    return (TextStatus.EXTRACTED if cleaned else TextStatus.EMPTY), cleaned, truncated


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise ValueError("encrypted PDF")
    parts, size = [], 0
    for number, page in enumerate(reader.pages):
        if number >= PDF_PAGES_MAX or size > ATTACHMENT_TEXT_MAX:
            break
        chunk = page.extract_text() or ""
        parts.append(chunk)
        size += len(chunk)
    return "\n".join(parts)


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _xml_text(data: bytes, part: str, *, paragraph, run: str | None, ns: str) -> str:
    """The paragraphs' text of a DOCX or ODT part, streamed (elements counted and freed as they
    go by, entities never expanded)."""
    from lxml import etree

    paragraphs = {
        f"{{{ns}}}{name}" for name in ((paragraph,) if isinstance(paragraph, str) else paragraph)
    }
    run_tag = f"{{{ns}}}{run}" if run else None
    out, size, count = [], 0, 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if archive.getinfo(part).file_size > XML_PART_MAX_BYTES:
            raise ValueError("XML part too large")
        with archive.open(part) as stream:
            for _event, element in etree.iterparse(
                stream, events=("end",), resolve_entities=False, no_network=True, huge_tree=False
            ):
                count += 1
                if count > XML_ELEMENTS_MAX:
                    raise ValueError("too many XML elements")
                if element.tag not in paragraphs:
                    continue
                if run_tag:
                    chunk = "".join(t.text or "" for t in element.iter(run_tag))
                else:
                    chunk = "".join(element.itertext())
                if chunk.strip():
                    out.append(chunk)
                    size += len(chunk)
                element.clear()
                if size > ATTACHMENT_TEXT_MAX:
                    break
    return "\n".join(out)


# The search document -----------------------------------------------------------------------


def read_attachments(session: Session, observation: Observation) -> list[AttachmentText]:
    """Read the text of every attachment not read yet (at registration: each once)."""
    ids = [a.id for a in observation.attachments]
    done = set(
        session.scalars(
            select(AttachmentText.attachment_id).where(AttachmentText.attachment_id.in_(ids))
        )
    )
    rows = []
    for attachment in observation.attachments:
        if attachment.id in done:
            continue
        data = session.scalar(select(Attachment.data).where(Attachment.id == attachment.id))
        status, body, truncated = extract_text(attachment.content_type, data or b"")
        row = AttachmentText(
            attachment_id=attachment.id,
            status=status,
            text=body,
            truncated=truncated,
            extracted_at=utcnow(),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def index_observation(session: Session, observation: Observation) -> SearchDocument:
    """Write (or rewrite) the observation's search document from what is stored."""
    attachment_texts = session.scalars(
        select(AttachmentText.text)
        .join(Attachment, Attachment.id == AttachmentText.attachment_id)
        .where(Attachment.observation_id == observation.id)
        .order_by(Attachment.id)
    ).all()
    summaries = session.scalars(
        select(Point.summary).where(
            Point.observation_id == observation.id, Point.summary.is_not(None)
        )
    ).all()
    parts = [
        observation.protocol_code or "",
        observation.title,
        observation.body_text,
        observation.proposed_text or "",
        observation.quote_text or "",
        *attachment_texts,
        *summaries,
    ]
    document = fold("\n".join(p for p in parts if p))
    row = session.get(SearchDocument, observation.id)
    if row is None:
        row = SearchDocument(observation_id=observation.id, round_id=observation.round_id)
        session.add(row)
    row.document = document
    session.flush()
    return row
