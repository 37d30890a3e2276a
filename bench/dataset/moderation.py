"""Moderation: what registration and a first pass of splitting would have made.

Every registered observation gets its triage row (``received``) and the transition that opened
it, as ``moderation.operations.on_registered`` writes them, and its points: point 1 with the
observation's anchor, and for most letters one or two more, split at sentence ends so that the
points' excerpts cover the text exactly once (about two points per observation: 20,000 for
10,000 at the large scale). Rows are bulk-inserted.
"""

from __future__ import annotations

import itertools
import re

from sqlalchemy import insert, select

from app.moderation.models import Triage, TriageTransition
from app.observations.models import Observation, Point

CHUNK = 2_000
#: How many points a letter is split into (1, 2 or 3); the weights are the scale's (``splits``).
SPLITS = (1, 2, 3)

_SENTENCE_END = re.compile(r"[.!?] ")


def _cuts(rng, text: str, weights) -> list[tuple[int, int]]:
    """The character ranges of the points of ``text``: contiguous, covering all of it."""
    if not text:
        return []
    wanted = rng.choices(SPLITS, weights)[0]
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if wanted > 1 and ends:
        step = len(ends) / wanted
        chosen = sorted({ends[min(len(ends) - 1, int(step * i) - 1)] for i in range(1, wanted)})
    else:
        chosen = []
    bounds = [0, *[c for c in chosen if 0 < c < len(text)], len(text)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def seed(ctx) -> str:
    rng, session = ctx.rng_for("moderation"), ctx.session
    round_ = ctx.shared["round"]
    rows = session.execute(
        select(
            Observation.id,
            Observation.body_text,
            Observation.title,
            Observation.submitted_at,
            Observation.target,
            Observation.section_id,
            Observation.paragraph_id,
            Observation.quote_text,
            Observation.quote_start,
            Observation.quote_end,
        )
        .where(Observation.round_id == round_.id, Observation.protocol_number.is_not(None))
        .order_by(Observation.protocol_number)
    ).all()
    triage, transitions, points = [], [], []
    for row in rows:
        triage.append(
            {
                "observation_id": row.id,
                "state": "received",
                "changed_at": row.submitted_at,
                "lock_version": 1,
            }
        )
        transitions.append(
            {
                "observation_id": row.id,
                "action": "receive",
                "from_state": None,
                "to_state": "received",
                "occurred_at": row.submitted_at,
            }
        )
        anchor = {
            "target": row.target,
            "section_id": row.section_id,
            "paragraph_id": row.paragraph_id,
            "quote_text": row.quote_text,
            "quote_start": row.quote_start,
            "quote_end": row.quote_end,
        }
        cuts = _cuts(rng, row.body_text or "", ctx.scale.splits)
        if not cuts:
            cuts = [(None, None)]
        for number, (start, end) in enumerate(cuts, start=1):
            points.append(
                {
                    "observation_id": row.id,
                    "number": number,
                    **anchor,
                    "excerpt_start": start,
                    "excerpt_end": end,
                    "summary": None if start is not None else row.title,
                    "state": "active",
                    "created_at": row.submitted_at,
                    "updated_at": row.submitted_at,
                    "lock_version": 1,
                }
            )
    for model, values in ((Triage, triage), (TriageTransition, transitions), (Point, points)):
        for first in range(0, len(values), CHUNK):
            session.execute(insert(model), values[first : first + CHUNK])
    ctx.manifest.update(points=len(points))
    return f"{len(triage)} triage rows, {len(points)} points"
