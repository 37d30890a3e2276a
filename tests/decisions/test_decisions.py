"""Deciding points: outcome rules, who decides, the lock, revisions, publication, the triage,
the author's e-mail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.decisions import operations
from app.decisions.models import (
    Conflict,
    Decision,
    DecisionError,
    DecisionRevision,
    DecisionState,
    Outcome,
)
from app.moderation.models import TriageState
from app.notifications.models import OutboxMessage
from app.notifications.operations import deliver_due
from app.observations import operations as observations
from app.rounds.models import RoundState
from tests.decisions.conftest import refusing, triage_of

Draft = operations.Draft


def _save(db, point, actor, outcome=Outcome.NOT_ACCEPTED, reasoning="Non coerente.", lock=None):
    decision = operations.save(db.session, point, Draft(outcome, reasoning, lock), actor=actor)
    db.session.commit()
    return decision


def _actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_a_draft_then_publication_decides_the_point_and_the_observation(db, setting):
    s = setting(n=1)
    [point] = s.points
    decision = _save(db, point, s.editor, reasoning="Il tema è trattato altrove.")
    assert decision.state is DecisionState.DRAFT
    assert triage_of(s.observations[0]).state is TriageState.ASSIGNED
    operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    db.session.expire_all()
    decision = db.session.get(Decision, decision.id)
    assert decision.state is DecisionState.PUBLISHED and decision.published_at is not None
    assert triage_of(s.observations[0]).state is TriageState.DECIDED
    actions = _actions(db)
    assert {"decision.created", "decision.published", "triage.decide"} <= set(actions)


def test_the_observation_is_decided_only_when_every_active_point_is(db, setting, make_user):
    from app.moderation import points as moderation_points
    from app.observations.models import Point

    s = setting(n=1)
    observation = s.observations[0]
    second = Point(
        observation_id=observation.id, number=2, target=observation.target, summary="Secondo"
    )
    db.session.add(second)
    db.session.commit()
    triage = triage_of(observation)
    moderation_points.set_assignees(
        db.session, triage, second, [s.editor.id], actor=s.moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    first = s.points[0]
    decision = _save(db, first, s.editor)
    operations.publish(db.session, first, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    assert triage_of(observation).state is TriageState.ASSIGNED  # point 2 still open
    decision = _save(db, db.session.get(Point, second.id), s.editor)
    operations.publish(
        db.session,
        db.session.get(Point, second.id),
        actor=s.editor,
        seen_lock=decision.lock_version,
    )
    db.session.commit()
    assert triage_of(observation).state is TriageState.DECIDED


@pytest.mark.parametrize(
    ("outcome", "reasoning", "optional", "refused"),
    [
        (None, "Motivo", (), "Choose an outcome"),
        (Outcome.NOT_ACCEPTED, "", (), "Write the reasoning"),
        (Outcome.NOT_ACCEPTED, "   ", (), "Write the reasoning"),
        (Outcome.NOT_RELEVANT, "", (Outcome.NOT_RELEVANT,), None),
        (Outcome.NOT_ACCEPTED, "", (Outcome.NOT_RELEVANT,), "Write the reasoning"),
        (Outcome.ALREADY_COVERED, "Già nel testo", (), "Name the paragraph"),
    ],
)
def test_outcome_rules(db, setting, outcome, reasoning, optional, refused):
    s = setting(n=1)
    operations.configure(
        db.session, s.round, any_editor=False, reasoning_optional=optional, actor=s.moderator
    )
    db.session.commit()
    [point] = s.points
    decision = _save(db, point, s.editor, outcome=outcome, reasoning=reasoning)
    if refused is None:
        operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
        db.session.commit()
        assert db.session.get(Decision, decision.id).published
        return
    with refusing(DecisionError, refused):
        operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.rollback()
    assert not db.session.get(Decision, decision.id).published


def test_already_covered_links_a_paragraph_of_the_consulted_version(db, setting, make_version):
    from app.plans.models import Paragraph, VersionStatus

    s = setting(n=1)
    [point] = s.points
    own = db.session.scalars(
        select(Paragraph).where(Paragraph.version_id == s.round.plan_version_id)
    ).first()
    foreign = db.session.scalars(
        select(Paragraph).where(
            Paragraph.version_id == make_version(status=VersionStatus.FROZEN).id
        )
    ).first()
    with refusing(DecisionError, "version this consultation"):
        operations.save(
            db.session,
            point,
            Draft(Outcome.ALREADY_COVERED, "Già recepita", None, paragraph_id=foreign.id),
            actor=s.editor,
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
    decision = operations.save(
        db.session,
        point,
        Draft(Outcome.ALREADY_COVERED, "Già recepita", None, paragraph_id=own.id),
        actor=s.editor,
    )
    db.session.commit()
    operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    assert db.session.get(Decision, decision.id).published


def test_who_may_decide(db, setting, make_user):
    from app.accounts.models import Role

    s = setting(n=1)
    [point] = s.points
    for outsider in (s.other_editor, s.moderator, s.author, make_user(Role.ADMIN)):
        with refusing(DecisionError, "not yours"):
            operations.save(
                db.session, point, Draft(Outcome.NOT_ACCEPTED, "x", None), actor=outsider
            )
        db.session.rollback()
    _save(db, point, s.editor)
    operations.configure(
        db.session, s.round, any_editor=True, reasoning_optional=(), actor=s.moderator
    )
    db.session.commit()
    decision = db.session.scalar(select(Decision))
    operations.save(
        db.session,
        point,
        Draft(Outcome.NOT_RELEVANT, "Fuori tema", decision.lock_version),
        actor=s.other_editor,
    )
    db.session.commit()
    with refusing(DecisionError, "not yours"):  # moderators never decide
        operations.save(db.session, point, Draft(Outcome.NOT_ACCEPTED, "x", 2), actor=s.moderator)
    db.session.rollback()


def test_a_concluded_or_unadmitted_point_cannot_be_decided(db, setting):
    s = setting(n=1, admit=False)
    operations.configure(
        db.session, s.round, any_editor=True, reasoning_optional=(), actor=s.moderator
    )
    db.session.commit()
    with refusing(DecisionError, "admitted"):
        operations.save(db.session, s.points[0], Draft(None, "", None), actor=s.editor)
    db.session.rollback()


def test_the_second_editor_is_told_and_nothing_is_overwritten(db, setting):
    s = setting(n=1)
    operations.configure(
        db.session, s.round, any_editor=True, reasoning_optional=(), actor=s.moderator
    )
    db.session.commit()
    [point] = s.points
    first = _save(db, point, s.editor, reasoning="Prima versione")
    seen = first.lock_version
    _save(db, point, s.editor, reasoning="Anna cambia", lock=seen)
    with pytest.raises(Conflict):
        operations.save(
            db.session, point, Draft(Outcome.ACCEPTED, "Bruno", seen), actor=s.other_editor
        )
    db.session.rollback()
    assert db.session.get(Decision, first.id).reasoning == "Anna cambia"
    with pytest.raises(Conflict):  # a second "new" decision on the same point
        operations.save(db.session, point, Draft(Outcome.ACCEPTED, "B", None), actor=s.other_editor)
    db.session.rollback()


def test_changes_after_publication_keep_revisions(db, setting):
    s = setting(n=1)
    [point] = s.points
    decision = _save(db, point, s.editor, reasoning="Prima")
    _save(db, point, s.editor, reasoning="Seconda bozza", lock=decision.lock_version)
    assert db.session.scalar(select(func.count()).select_from(DecisionRevision)) == 0  # drafts
    decision = db.session.get(Decision, decision.id)
    operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    decision = db.session.get(Decision, decision.id)
    _save(
        db,
        point,
        s.editor,
        outcome=Outcome.NOT_RELEVANT,
        reasoning="Terza",
        lock=decision.lock_version,
    )
    decision = db.session.get(Decision, decision.id)
    with refusing(DecisionError, "reasoning"):  # a published one stays valid
        operations.save(
            db.session,
            point,
            Draft(Outcome.NOT_ACCEPTED, "", decision.lock_version),
            actor=s.editor,
        )
    db.session.rollback()
    [revision] = db.session.scalars(select(DecisionRevision)).all()
    assert (revision.number, revision.outcome, revision.reasoning) == (
        1,
        Outcome.NOT_ACCEPTED,
        "Seconda bozza",
    )
    assert revision.replaced_by_id == s.editor.id and revision.written_by_id == s.editor.id
    decision = db.session.get(Decision, decision.id)
    assert decision.published and decision.reasoning == "Terza"
    assert "decision.revised" in _actions(db)


def test_round_publication_is_all_or_nothing(db, setting, smtp):
    s = setting(n=3)
    good = [_save(db, p, s.editor, reasoning=f"Motivo {i}") for i, p in enumerate(s.points[:2])]
    _save(db, s.points[2], s.editor, reasoning="")  # invalid: no reasoning
    with pytest.raises(operations.PublicationRefused) as refused:
        operations.publish_round(db.session, s.round, actor=s.editor)
    db.session.rollback()
    assert [label for label, _id, _m in refused.value.problems] == [s.points[2].label]
    assert all(not d.published for d in db.session.scalars(select(Decision)))
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    third = db.session.scalar(select(Decision).where(Decision.point_id == s.points[2].id))
    _save(db, s.points[2], s.editor, reasoning="Ora motivata", lock=third.lock_version)
    assert operations.publish_round(db.session, s.round, actor=s.editor) == 3
    db.session.commit()
    assert all(d.published for d in db.session.scalars(select(Decision)))
    assert all(triage_of(o).state is TriageState.DECIDED for o in s.observations)
    assert good  # the first two were published with the third, not before
    deliver_due(db.session)
    messages = smtp.inbox.to(s.author.email)
    assert len(messages) == 3  # one per observation
    body = smtp.inbox.text(messages[0])
    assert "/decisions/trace/" in body


def test_the_author_is_emailed_with_a_link_to_the_trace_page(db, setting, smtp, client):
    s = setting(n=1)
    [point] = s.points
    decision = _save(db, point, s.editor, reasoning="Non coerente con gli obiettivi.")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # a draft
    operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    deliver_due(db.session)
    [message] = smtp.inbox.to(s.author.email)
    assert s.observations[0].protocol_code in message["Subject"]
    text = smtp.inbox.text(message)
    link = next(word for word in text.split() if "/decisions/trace/" in word)
    assert link.endswith(f"/decisions/trace/{s.observations[0].id}")


def test_withdrawn_observations_are_not_decided(db, setting):
    s = setting(n=1, state=RoundState.OPEN)
    observation = s.observations[0]
    observations.withdraw(db.session, observation, user=s.author, reason="Ci ho ripensato")
    db.session.commit()
    with refusing(DecisionError, "withdrawn"):
        operations.save(db.session, s.points[0], Draft(None, "", None), actor=s.editor)
    db.session.rollback()


def test_answer_templates(db, setting):
    s = setting(n=1)
    with pytest.raises(DecisionError) as refused:
        operations.create_template(db.session, title=" ", body="", outcome=None, actor=s.editor)
    db.session.rollback()
    assert set(refused.value.more) == {"title", "body"}
    template = operations.create_template(
        db.session,
        title="Fuori ambito",
        body="Non riguarda il piano.",
        outcome=Outcome.NOT_RELEVANT,
        actor=s.editor,
    )
    db.session.commit()
    operations.archive_template(db.session, template, actor=s.editor)
    db.session.commit()
    with pytest.raises(DecisionError):
        operations.archive_template(db.session, template, actor=s.editor)
    db.session.rollback()
    assert {"decision.template_created", "decision.template_archived"} <= set(_actions(db))
