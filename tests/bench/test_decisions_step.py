"""The benchmark data set's decisions step: the round answered as the editors would have left
it — a decision for every admissible point, valid where published, linked to the stored changes
of the round's response version, with the triage and audit rows the operations write."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.core import audit
from app.decisions import coverage, operations
from app.decisions.links import DecisionLink
from app.decisions.models import CHANGING, Decision, DecisionState, Outcome
from app.decisions.queries import decidable_points
from app.moderation.models import Triage, TriageState
from app.observations.models import Point
from app.plans.changes import ChangeScope, TextChange
from app.plans.models import PlanVersion
from app.rounds.models import Round
from tests.bench.test_dataset import seed


def test_every_admissible_point_is_decided_and_linked_to_the_changes(app, db, tmp_path):
    seeded = seed(app, tmp_path)
    round_ = db.session.get(Round, seeded["round_id"])
    response = db.session.scalars(select(PlanVersion).order_by(PlanVersion.number)).all()[-1]
    assert round_.response_version_id == response.id

    points = db.session.scalars(decidable_points(round_)).all()
    decisions = {
        d.point_id: d
        for d in db.session.scalars(select(Decision).where(Decision.round_id == round_.id))
    }
    assert points and set(decisions) == {p.id for p in points} == set(
        db.session.scalars(select(Decision.point_id))
    )
    assert seeded["admissible_points"] == len(points)
    outcomes = Counter(d.outcome for d in decisions.values())
    assert set(outcomes) == set(Outcome)
    published = [d for d in decisions.values() if d.state is DecisionState.PUBLISHED]
    assert 0.85 * len(decisions) <= len(published) < len(decisions)
    settings = operations.settings_of(db.session, round_)
    for decision in published[:300] + [d for d in published if d.outcome in CHANGING]:
        assert decision.reasoning
        assert operations.problems_of(db.session, decision, settings) == [], decision

    # Every current change of the response version is linked by a published decision or
    # marked editorial; the links name changes of that version only.
    changes = db.session.scalars(
        select(TextChange).where(
            TextChange.version_id == response.id, TextChange.ended_at.is_(None)
        )
    ).all()
    assert {c.scope for c in changes} == {ChangeScope.PARAGRAPH}
    assert len(changes) == seeded["changes"] >= 0.07 * 300
    linked = set(
        db.session.scalars(
            select(DecisionLink.change_id)
            .join(Decision, Decision.id == DecisionLink.decision_id)
            .where(Decision.state == DecisionState.PUBLISHED, DecisionLink.change_id.is_not(None))
        )
    )
    assert linked <= {c.id for c in changes}
    assert {c.id for c in changes if not c.editorial} == linked
    assert seeded["changes_linked"] == len(linked) and seeded["changes_editorial"] >= 1
    found = coverage.coverage(db.session, round_)
    assert found.unlinked_total == found.unexplained_total == 0
    assert found.undecided_total == len(decisions) - len(published)
    assert found.version_problem  # the response version is still a draft

    # Triage: an observation whose points are all published is decided; drafts leave it
    # admissible; the others were not admitted, with a reason.
    by_observation: dict[int, set] = {}
    for point in points:
        by_observation.setdefault(point.observation_id, set()).add(decisions[point.id].state)
    triage = {t.observation_id: t for t in db.session.scalars(select(Triage))}
    for observation_id, states in by_observation.items():
        expected = (
            TriageState.DECIDED if states == {DecisionState.PUBLISHED} else TriageState.ADMISSIBLE
        )
        assert triage[observation_id].state is expected
    rejected = [t for t in triage.values() if t.state is TriageState.NOT_ADMISSIBLE]
    assert rejected and all(t.reason for t in rejected)
    assert not db.session.scalar(
        select(func.count())
        .select_from(Point)
        .join(Decision, Decision.point_id == Point.id)
        .where(Point.observation_id.in_([t.observation_id for t in rejected]))
    )

    # The trace page's observation: published, its first point linked to words of a change.
    traced = db.session.scalars(
        select(Decision)
        .join(Point, Point.id == Decision.point_id)
        .where(Point.observation_id == seeded["trace_observation_id"], Point.number == 1)
    ).one()
    assert traced.published and traced.outcome is Outcome.PARTLY_ACCEPTED
    assert db.session.scalar(
        select(DecisionLink.span_id).where(DecisionLink.decision_id == traced.id)
    )

    # The audit entries are in the hash chain, one creation and one publication per decision.
    assert audit.verify(db.session).broken is None
    actions = Counter(
        db.session.scalars(
            select(audit.AuditEntry.action).where(audit.AuditEntry.action.like("decision.%"))
        )
    )
    assert actions["decision.created"] == len(decisions)
    assert actions["decision.published"] == len(published)
