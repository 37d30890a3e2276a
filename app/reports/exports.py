"""The report as data: one row per point (and one per observation found not admissible), as CSV
for spreadsheet programs and as JSON Lines, streamed.

The rows are what the report by observation shows (what may be published, published decisions
only), read by columns (``reports.rows``) in chunks of observations in protocol order by
keyset, each chunk in a fixed number of statements, so memory stays flat however large the
round. The columns are documented in
``docs/exports.md``; :data:`COLUMNS` is their order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.plans.frozen import frozen_tree
from app.reports import rows
from app.rounds.models import Round

COLUMNS = (
    "draft",
    "protocol",
    "point",
    "received_at",
    "channel",
    "late",
    "organisation",
    "organisation_kind",
    "zone",
    "groups",
    "name",
    "admissible",
    "not_admissible_reason",
    "section_number",
    "section_title",
    "anchor",
    "text",
    "outcome",
    "reasoning",
    "decided_at",
    "changes",
)


def records(session: Session, round_id: int, *, draft: bool) -> Iterator[dict]:
    """Every row of the round's report, as a dict keyed by :data:`COLUMNS` (read by columns:
    ``reports.rows``)."""
    return rows.records(session, round_id, draft=draft, columns=COLUMNS)


def sections_of(session: Session, round_: Round) -> dict:
    """The consulted version's sections by id (from the frozen text)."""
    tree = frozen_tree(session, round_.version)
    return {node.section.id: node.section for node in tree.walk()}


def _flat(value) -> object:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def csv_rows(session: Session, round_id: int, *, draft: bool) -> Iterator[list]:
    for record in records(session, round_id, draft=draft):
        yield [_flat(record[name]) for name in COLUMNS]


def jsonl(session: Session, round_id: int, *, draft: bool) -> Iterator[str]:
    """JSON Lines: one object per row, in pieces of about 32 KB."""
    piece: list[str] = []
    size = 0
    for record in records(session, round_id, draft=draft):
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        piece.append(line)
        size += len(line)
        if size > 32_000:
            yield "".join(piece)
            piece, size = [], 0
    yield "".join(piece)


def filename(round_: Round, extension: str, *, draft: bool) -> str:
    prefix = re.sub(r"[^a-z0-9]+", "-", round_.protocol_prefix.lower()).strip("-") or "round"
    stem = f"traccia-{prefix}-controdeduzioni"
    return f"{stem}{'-bozza' if draft else ''}.{extension}"
