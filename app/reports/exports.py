"""The report as data: one row per point (and one per observation found not admissible), as CSV
for spreadsheet programs and as JSON Lines, streamed.

The rows are what the report by observation shows (:func:`queries.report_items`: what may be
published, published decisions only), read in chunks of :data:`CHUNK` observations in protocol
order by keyset, each chunk in a fixed number of statements and forgotten by the session before
the next, so memory stays flat however large the round. The columns are documented in
``docs/exports.md``; :data:`COLUMNS` is their order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.observations.models import Observation
from app.plans.frozen import frozen_tree
from app.reports import queries
from app.rounds.models import Round

#: Observations read at a time.
CHUNK = 500

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


def _chunks(session: Session, round_id: int) -> Iterator[tuple[Round, list[Observation]]]:
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


def records(session: Session, round_id: int, *, draft: bool) -> Iterator[dict]:
    """Every row of the round's report, as a dict keyed by :data:`COLUMNS`."""
    sections = None
    for round_, chunk in _chunks(session, round_id):
        if sections is None:
            sections = sections_of(session, round_)
        for item in queries.report_items(session, round_, chunk):
            yield from item_records(item, sections, draft=draft)


def sections_of(session: Session, round_: Round) -> dict:
    """The consulted version's sections by id (from the frozen text)."""
    tree = frozen_tree(session, round_.version)
    return {node.section.id: node.section for node in tree.walk()}


def item_records(item: queries.ReportItem, sections: dict, *, draft: bool) -> Iterator[dict]:
    """The rows of one observation of the report (one per point; one if not admissible)."""
    o = item.observation
    organisation = o.organisation
    common = {
        "draft": draft,
        "protocol": o.protocol_code,
        "received_at": o.received_at.isoformat() if o.received_at else None,
        "channel": o.channel.value,
        "late": o.late,
        "organisation": organisation.name if organisation else None,
        "organisation_kind": organisation.kind.value if organisation else None,
        "zone": organisation.zone.name if organisation and organisation.zone else None,
        "groups": [g.name for g in organisation.groups] if organisation else [],
        "name": item.name,
        "admissible": item.admissible,
        "not_admissible_reason": item.reason,
    }
    if not item.admissible or not item.points:
        yield {**dict.fromkeys(COLUMNS), **common, "changes": []}
        return
    for rp in item.points:
        section = sections.get(rp.point.section_id)
        decision = rp.decision
        yield {
            **common,
            "point": rp.point.label,
            "section_number": section.number if section else None,
            "section_title": section.title if section else None,
            "anchor": str(rp.point.target),
            "text": rp.text,
            "outcome": decision.outcome.value if decision and decision.outcome else None,
            "reasoning": decision.reasoning if decision else None,
            "decided_at": decision.published_at.isoformat()
            if decision and decision.published_at
            else None,
            "changes": [c.change_id for c in rp.changes],
        }


def _flat(value) -> object:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def csv_rows(session: Session, round_id: int, *, draft: bool) -> Iterator[tuple]:
    for record in records(session, round_id, draft=draft):
        yield tuple(_flat(record[name]) for name in COLUMNS)


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
