"""The benchmark data set: one national-scale consultation, deterministic for a seed.

``flask --app wsgi bench seed --scale small|large [--seed N]`` calls :func:`build`. Each domain
has one module here with a ``seed(ctx)`` step, run in the order of :data:`STEPS`; a step reads
what earlier steps left on the :class:`Context` and leaves what later ones (and the benchmark's
pages, ``bench/pages.py``) need in ``ctx.manifest``.

What goes through the application's own operations, and what is bulk-inserted:

- the plan, its frozen consulted version and the response version (a successor in which about
  10 % of the paragraphs are edited, split, merged, added or deleted) and the round: the real
  operations, so keys, lineage and audit entries are exactly what the app makes;
- organisations, groups, zones, users (one Argon2 hash computed once and shared: every user's
  password is :data:`PASSWORD`), observations, attachments and their audit entries: bulk
  inserts of rows computed with the application's own recipes (``text_as_html``,
  ``plain_text``, ``receipts.digest``, ``receipts.verification_code``, ``check_attachment``),
  protocol numbers 1…n in order of submission and the round's counter at n.

Later domains add their step to :data:`STEPS` (moderation: points, tags and assignments;
decisions: a decision for every admissible point, linked to the stored changes of the response
version; reports) and their pages to ``bench/pages.py``.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.db import utcnow

#: Every seeded user's password (a throw-away benchmark database).
PASSWORD = "bench password 2026"  # noqa: S105


class SeedError(RuntimeError):
    pass


@dataclass(frozen=True)
class Scale:
    name: str
    top_sections: int
    subsections: int  # per top-level section
    paragraphs: int  # in the whole plan
    organisations: int
    comuni: int  # among the organisations
    zones: int
    groups: int
    observations: int
    campaigns: int
    #: Share of the response version's paragraphs touched by an editing operation.
    changed: float = 0.10
    #: How many letters are split into 1, 2 and 3 points (weights: about two on average).
    splits: tuple[int, int, int] = (30, 40, 30)


SCALES = {
    "small": Scale(
        "small",
        top_sections=6,
        subsections=4,
        paragraphs=300,
        organisations=60,
        comuni=40,
        zones=4,
        groups=3,
        observations=1_000,
        campaigns=3,
    ),
    "large": Scale(
        "large",
        top_sections=60,
        subsections=4,
        paragraphs=3_000,
        organisations=600,
        comuni=400,
        zones=8,
        groups=10,
        observations=10_000,
        campaigns=12,
        # a few more points than two per letter: at least 20,000 points, the figure
        # decisions and traceability are measured at (issue 13)
        splits=(18, 47, 35),
    ),
}


@dataclass
class Context:
    session: Session
    scale: Scale
    seed: int
    now: datetime
    rng: random.Random
    #: What the benchmark needs (ids, keys, logins): written as JSON by the command.
    manifest: dict[str, Any] = field(default_factory=dict)
    #: Handed from step to step (objects and id maps); not written out.
    shared: dict[str, Any] = field(default_factory=dict)

    def rng_for(self, step: str) -> random.Random:
        """A generator of its own per step, so that a step's data does not shift when an
        earlier step draws more numbers."""
        return random.Random(f"{self.seed}:{step}")


def _steps():
    from bench.dataset import decisions, moderation, observations, plans, registry, rounds

    return [
        ("registry", registry.seed),
        ("plans", plans.seed),
        ("rounds", rounds.seed),
        ("observations", observations.seed),
        ("moderation", moderation.seed),  # triage rows and points (tags, assignments: later)
        ("decisions", decisions.seed),  # a decision per admissible point, linked to changes
    ]


def build(
    session: Session, *, scale: str = "small", seed: int = 2026, now: datetime | None = None
) -> dict[str, Any]:
    """Seed an empty, migrated database; return the manifest (with each step's timing)."""
    from app.plans.models import Plan
    from app.stakeholders.models import Organisation

    if session.scalar(select(func.count()).select_from(Organisation)) or session.scalar(
        select(func.count()).select_from(Plan)
    ):
        raise SeedError("The benchmark data needs an empty database (run it on a fresh one).")
    ctx = Context(
        session=session,
        scale=SCALES[scale],
        seed=seed,
        now=(now or utcnow()).replace(microsecond=0),
        rng=random.Random(seed),
    )
    ctx.manifest.update(scale=scale, seed=seed, now=ctx.now.isoformat(), password=PASSWORD)
    timings = []
    for name, step in _steps():
        started = time.perf_counter()
        made = step(ctx)
        session.flush()
        timings.append(
            {"step": name, "seconds": round(time.perf_counter() - started, 2), "made": made}
        )
    ctx.manifest["timings"] = timings
    return ctx.manifest


def seeded(session: Session) -> dict[str, Any]:
    """What a benchmark needs of a database that :func:`build` seeded earlier (its manifest
    not at hand): the round with the most registered observations, their count, their points'
    and the section they are most often anchored to."""
    from app.observations.models import Observation, Point
    from app.plans.models import Section

    registered = Observation.protocol_number.is_not(None)
    round_id, observations = session.execute(
        select(Observation.round_id, func.count())
        .where(registered)
        .group_by(Observation.round_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    points = session.scalar(
        select(func.count())
        .select_from(Point)
        .join(Observation, Observation.id == Point.observation_id)
        .where(Observation.round_id == round_id, registered)
    )
    section_key = session.scalar(
        select(Section.key)
        .join(Observation, Observation.section_id == Section.id)
        .where(Observation.round_id == round_id, registered)
        .group_by(Section.key)
        .order_by(func.count().desc(), Section.key)
        .limit(1)
    )
    return {
        "round_id": round_id,
        "observations": observations,
        "points": points,
        "round_section_key": section_key,
    }
