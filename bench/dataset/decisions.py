"""Decisions: the round answered in its response version, as the editors would have left it.

Through the application's own operations: the round's response version (the successor the
plans step edited, whose changes against the consulted version ``sync_changes`` stored while it
was edited), the round's settings (any editor decides), three answer templates and a few
changes marked editorial. Bulk-inserted, with the rows those operations would write:

- triage: about 3 % of the observations not admissible (with a reason), the others admitted;
- a decision for every point of an admitted observation (the *admissible* points), with an
  outcome and its reasoning: points on a changed paragraph mostly accepted or partly accepted,
  linked to that paragraph's stored change (partly accepted ones narrowed to its first words
  span), the others mostly not accepted, not relevant or already covered (linked to the
  paragraph of the consulted version they were about); every change not marked editorial is
  linked by at least one decision;
- published for about 92 % of the admitted observations (their triage ``decided``), drafts for
  the rest (``admissible``: what the coverage page lists);
- the transitions and audit entries (``triage.admit``/``reject``/``decide``,
  ``decision.created``, ``decision.published``), in the hash chain.

The authors' e-mails (one per observation on publication) are not queued: no page reads the
outbox.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import bindparam, insert, select, update

from app.accounts.models import User
from app.core.audit import AuditEntry
from app.decisions import operations as decisions
from app.decisions.links import DecisionLink
from app.decisions.models import Decision, Outcome
from app.moderation.models import Triage, TriageTransition
from app.observations import receipts
from app.observations.models import Observation, ObservationState, Point, PointState
from app.plans.changes import (
    ChangeScope,
    ChangeSide,
    TextChange,
    TextChangeParagraph,
    TextChangeSpan,
)
from app.plans.models import Paragraph, Section
from app.plans.operations import mark_editorial
from app.rounds.operations import set_response_version
from bench.dataset import words
from bench.dataset.observations import _chain

CHUNK = 2_000
#: Shares of the observations not admitted, and of the admitted left with draft decisions.
NOT_ADMISSIBLE = 0.03
DRAFTS = 0.08
#: Shares of the changes marked editorial.
EDITORIAL = 0.02

ON_CHANGED = (
    (Outcome.ACCEPTED, Outcome.PARTLY_ACCEPTED, Outcome.NOT_ACCEPTED, Outcome.ALREADY_COVERED,
     Outcome.NOT_RELEVANT),
    (45, 25, 20, 5, 5),
)  # fmt: skip
ELSEWHERE = (
    (Outcome.NOT_ACCEPTED, Outcome.NOT_RELEVANT, Outcome.ALREADY_COVERED),
    (55, 25, 20),
)

REASONS = {
    Outcome.ACCEPTED: "Accolta: il testo è stato modificato come richiesto.",
    Outcome.PARTLY_ACCEPTED: "Parzialmente accolta: il testo è stato modificato in parte.",
    Outcome.NOT_ACCEPTED: "Non accolta: la proposta contrasta con gli obiettivi del piano.",
    Outcome.NOT_RELEVANT: "Non pertinente: la richiesta non riguarda i contenuti del piano.",
    Outcome.ALREADY_COVERED: "Già recepita: il documento di piano prevede già quanto chiesto.",
}

TEMPLATES = (
    ("Contrasto con gli obiettivi", Outcome.NOT_ACCEPTED),
    ("Materia di altri strumenti", Outcome.NOT_RELEVANT),
    ("Già prevista dal piano", Outcome.ALREADY_COVERED),
)

REJECTION = "L'osservazione non riguarda il piano in consultazione."


def _changes(session, response_id):
    """The response version's current paragraph changes: base paragraph → change, and each
    change's sections (by key) and first words span."""
    by_base: dict[int, int] = {}
    section_of: dict[int, str] = {}
    changes = list(
        session.scalars(
            select(TextChange.id)
            .where(
                TextChange.version_id == response_id,
                TextChange.ended_at.is_(None),
                TextChange.scope == ChangeScope.PARAGRAPH,
            )
            .order_by(TextChange.id)
        )
    )
    for change_id, side, paragraph_id, section_key in session.execute(
        select(
            TextChangeParagraph.change_id,
            TextChangeParagraph.side,
            TextChangeParagraph.paragraph_id,
            Section.key,
        )
        .join(Paragraph, Paragraph.id == TextChangeParagraph.paragraph_id)
        .join(Section, Section.id == Paragraph.section_id)
        .where(TextChangeParagraph.change_id.in_(changes))
        .order_by(TextChangeParagraph.change_id, TextChangeParagraph.side)
    ):
        if side is ChangeSide.OLD:
            by_base[paragraph_id] = change_id
        section_of.setdefault(change_id, section_key)
    first_span: dict[int, int] = {}
    for change_id, span_id in session.execute(
        select(TextChangeSpan.change_id, TextChangeSpan.id)
        .where(TextChangeSpan.change_id.in_(changes))
        .order_by(TextChangeSpan.change_id, TextChangeSpan.ordinal)
    ):
        first_span.setdefault(change_id, span_id)
    return changes, by_base, section_of, first_span


def _busiest_section(session, response_id) -> tuple[str, int]:
    """The top-level section of the response version whose reading page shows most changes."""
    sections = {
        s.id: s for s in session.scalars(select(Section).where(Section.version_id == response_id))
    }

    def top(section_id):
        section = sections[section_id]
        while section.parent_id is not None:
            section = sections[section.parent_id]
        return section.key

    counted: Counter = Counter()
    for _change_id, section_id in session.execute(
        select(TextChangeParagraph.change_id, Paragraph.section_id)
        .join(TextChange, TextChange.id == TextChangeParagraph.change_id)
        .join(Paragraph, Paragraph.id == TextChangeParagraph.paragraph_id)
        .where(
            TextChange.version_id == response_id,
            TextChange.ended_at.is_(None),
            TextChangeParagraph.side == ChangeSide.NEW,
        )
        .distinct()
    ):
        counted[top(section_id)] += 1
    return counted.most_common(1)[0]


def seed(ctx) -> str:
    rng, session = ctx.rng_for("decisions"), ctx.session
    round_, response = ctx.shared["round"], ctx.shared["response"]
    editor = session.get(User, ctx.shared["staff"]["editor@bench.example"])
    moderator = session.get(User, ctx.shared["staff"]["moderator@bench.example"])
    admin = session.get(User, ctx.shared["staff"]["admin@bench.example"])
    now = ctx.now

    # Through the operations: the response version, who decides, templates, editorial marks.
    set_response_version(session, round_, response, actor=admin)
    decisions.configure(session, round_, any_editor=True, reasoning_optional=(), actor=moderator)
    templates = {}
    for title, outcome in TEMPLATES:
        template = decisions.create_template(
            session, title=title, body=REASONS[outcome], outcome=outcome, actor=editor
        )
        templates[outcome] = template.body
    changes, by_base, section_of, first_span = _changes(session, response.id)
    if not changes:
        raise RuntimeError("The response version has no stored changes: run the plans step.")
    editorial = set(rng.sample(changes, max(1, round(len(changes) * EDITORIAL))))
    for change_id in sorted(editorial):
        mark_editorial(
            session,
            session.get(TextChange, change_id),
            editorial=True,
            note="Correzione redazionale: coordinamento del testo.",
            actor=editor,
        )
    session.flush()  # their audit entries take their numbers before the bulk ones
    linkable = [c for c in changes if c not in editorial]
    by_section: dict[str, list[int]] = defaultdict(list)
    for change_id in linkable:
        by_section[section_of[change_id]].append(change_id)

    base_section_key = dict(
        session.execute(
            select(Section.id, Section.key).where(Section.version_id == round_.plan_version_id)
        ).all()
    )
    rows = session.execute(
        select(
            Point.id,
            Point.observation_id,
            Point.paragraph_id,
            Point.section_id,
            Observation.protocol_code,
        )
        .join(Observation, Observation.id == Point.observation_id)
        .where(
            Observation.round_id == round_.id,
            Observation.state == ObservationState.SUBMITTED,
            Point.state == PointState.ACTIVE,
        )
        .order_by(Observation.protocol_number, Point.number)
    ).all()
    by_observation: dict[int, list] = defaultdict(list)
    for row in rows:
        by_observation[row.observation_id].append(row)

    traced = ctx.manifest["receipt_observation_id"]
    if traced not in by_observation:  # withdrawn: the first registered one
        traced = next(iter(by_observation))
    rejected = {o for o in by_observation if o != traced and rng.random() < NOT_ADMISSIBLE}
    drafts = {
        o for o in by_observation if o not in rejected and o != traced and rng.random() < DRAFTS
    }
    # (point id, observation id, outcome, [(paragraph, change, span)], published)
    decided: list[tuple] = []
    unlinked_points: dict[str, list[int]] = defaultdict(list)  # by consulted section key
    linked: Counter = Counter()
    for observation_id, points in by_observation.items():
        if observation_id in rejected:
            continue
        published = observation_id not in drafts
        for row in points:
            change = by_base.get(row.paragraph_id)
            if change in editorial:
                change = None
            if observation_id == traced and row is points[0]:
                # the trace page's observation: its first point accepted, narrowed to words
                change = change or linkable[0]
                outcome = Outcome.PARTLY_ACCEPTED
            elif change is not None:
                outcome = rng.choices(*ON_CHANGED)[0]
            else:
                outcome = rng.choices(*ELSEWHERE)[0]
            links = []
            if outcome in (Outcome.ACCEPTED, Outcome.PARTLY_ACCEPTED):
                span = first_span.get(change) if outcome is Outcome.PARTLY_ACCEPTED else None
                links.append((None, change, span))
                linked[change] += published
            elif outcome is Outcome.ALREADY_COVERED:
                if row.paragraph_id is None:  # about the whole plan or a section
                    outcome = Outcome.NOT_RELEVANT
                else:
                    links.append((row.paragraph_id, None, None))
            if not links and outcome is Outcome.NOT_ACCEPTED and published:
                unlinked_points[base_section_key.get(row.section_id, "")].append(len(decided))
            decided.append([row.id, observation_id, outcome, links, published])
    # Every change that no published decision links yet: accepted for a not accepted point of
    # its section (or of any section), as an editor answering the whole round would.
    everywhere = [i for indices in unlinked_points.values() for i in indices]
    for change_id in linkable:
        if linked[change_id]:
            continue
        pool = unlinked_points.get(section_of[change_id]) or everywhere
        while pool:
            index = pool.pop(rng.randrange(len(pool)))
            if decided[index][2] is Outcome.NOT_ACCEPTED and not decided[index][3]:
                decided[index][2] = Outcome.ACCEPTED
                decided[index][3] = [(None, change_id, None)]
                linked[change_id] += 1
                break

    # Triage and its transitions.
    triage = update(Triage.__table__).where(Triage.__table__.c.observation_id == bindparam("oid"))
    states = [
        {
            "oid": o,
            "state": "not_admissible" if o in rejected else (
                "admissible" if o in drafts else "decided"),
            "reason": REJECTION if o in rejected else None,
            "changed_at": now,
            "changed_by_id": moderator.id if o in rejected or o in drafts else editor.id,
            "lock_version": 2 if o in rejected or o in drafts else 3,
        }
        for o in by_observation
    ]  # fmt: skip
    for first in range(0, len(states), CHUNK):
        session.execute(
            triage.values(
                state=bindparam("state"),
                reason=bindparam("reason"),
                changed_at=bindparam("changed_at"),
                changed_by_id=bindparam("changed_by_id"),
                lock_version=bindparam("lock_version"),
            ),
            states[first : first + CHUNK],
        )
    transitions = []
    for o in by_observation:
        if o in rejected:
            transitions.append((o, "reject", "received", "not_admissible", moderator, REJECTION))
            continue
        transitions.append((o, "admit", "received", "admissible", moderator, None))
        if o not in drafts:
            transitions.append((o, "decide", "admissible", "decided", editor, None))
    _insert(
        session,
        TriageTransition,
        [
            {"observation_id": o, "action": action, "from_state": before, "to_state": after,
             "actor_id": actor.id, "occurred_at": now, "reason": reason}
            for o, action, before, after, actor, reason in transitions
        ],
    )  # fmt: skip

    # Decisions and their links.
    reasonings = {**REASONS, **templates}
    _insert(
        session,
        Decision,
        [
            {
                "point_id": point_id,
                "round_id": round_.id,
                "outcome": outcome.value,
                "reasoning": reasonings[outcome] + " " + words.sentence(rng),
                "state": "published" if published else "draft",
                "created_at": now,
                "updated_at": now,
                "updated_by_id": editor.id,
                "published_at": now if published else None,
                "published_by_id": editor.id if published else None,
                "lock_version": 2 if published else 1,
            }
            for point_id, _o, outcome, _links, published in decided
        ],
    )
    decision_ids = dict(
        session.execute(
            select(Decision.point_id, Decision.id).where(Decision.round_id == round_.id)
        ).all()
    )
    _insert(
        session,
        DecisionLink,
        [
            {"decision_id": decision_ids[point_id], "paragraph_id": paragraph, "change_id": change,
             "span_id": span}
            for point_id, _o, _outcome, links, _p in decided
            for paragraph, change, span in links
        ],
    )  # fmt: skip

    # The audit entries those operations write, in the chain.
    transition_ids = {
        (o, action): i
        for i, o, action in session.execute(
            select(
                TriageTransition.id, TriageTransition.observation_id, TriageTransition.action
            ).where(TriageTransition.action.in_(("admit", "reject", "decide")))
        )
    }
    entries = []
    for o, action, before, after, actor, _reason in transitions:
        if action == "decide":
            continue
        entries.append(
            _triage_entry(round_.id, o, action, before, after, actor, transition_ids, now)
        )
    for point_id, _o, outcome, _links, _published in decided:
        entries.append(
            {"object_type": "decisions", "object_id": str(decision_ids[point_id]),
             "occurred_at": now, "actor_id": editor.id, "action": "decision.created",
             "details": {"point_id": point_id, "outcome": outcome.value}}
        )  # fmt: skip
    for point_id, _o, outcome, _links, published in decided:
        if published:
            entries.append(
                {"object_type": "decisions", "object_id": str(decision_ids[point_id]),
                 "occurred_at": now, "actor_id": editor.id, "action": "decision.published",
                 "details": {"point_id": point_id, "outcome": outcome.value}}
            )  # fmt: skip
    for o, action, before, after, actor, _reason in transitions:
        if action == "decide":
            entries.append(
                _triage_entry(round_.id, o, action, before, after, actor, transition_ids, now)
            )
    _chain(session, entries)
    _insert(session, AuditEntry, entries)

    section_key, section_changes = _busiest_section(session, response.id)
    traced_code = next(r.protocol_code for r in by_observation[traced])
    outcomes = Counter(outcome.value for _p, _o, outcome, _l, _pub in decided)
    changed_linked = sum(1 for c in linkable if linked[c])
    ctx.manifest.update(
        response_section_key=section_key,
        response_section_changes=section_changes,
        decisions=len(decided),
        decisions_published=sum(1 for d in decided if d[4]),
        admissible_points=len(decided),
        changes=len(changes),
        changes_linked=changed_linked,
        changes_editorial=len(editorial),
        trace_observation_id=traced,
        trace_protocol=traced_code,
        trace_code=receipts.verification_code(traced_code),
        trace_author_email=session.scalar(
            select(User.email)
            .join(Observation, Observation.author_id == User.id)
            .where(Observation.id == traced)
        ),
    )
    return (
        f"response version v{response.number}: {len(changes)} changes ({changed_linked} linked, "
        f"{len(editorial)} editorial); {len(rejected)} observations not admissible; "
        f"{len(decided)} decisions ("
        + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
        + f"), {len(drafts)} observations with drafts; {len(entries)} audit entries"
    )


def _triage_entry(round_id, o, action, before, after, actor, transition_ids, now) -> dict:
    return {
        "object_type": "observations",
        "object_id": str(o),
        "occurred_at": now,
        "actor_id": actor.id,
        "action": f"triage.{action}",
        "details": {
            "round_id": round_id,
            "from_state": before,
            "to_state": after,
            "transition_id": transition_ids[(o, action)],
        },
    }


def _insert(session, model, values: list[dict]) -> None:
    for first in range(0, len(values), CHUNK):
        session.execute(insert(model), values[first : first + CHUNK])
