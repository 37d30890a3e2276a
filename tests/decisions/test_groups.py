"""A confirmed group of similar observations decided once: each member that can take the
decision gets its own decision row (published with its e-mail when the decision is), members
that add something, are already decided or cannot be decided are set aside and listed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.decisions import groups, operations
from app.decisions.models import Decision, DecisionError, DecisionState, Outcome
from app.moderation import grouping
from app.moderation.models import GroupMember, GroupState, SimilarityGroup, TriageState
from app.notifications.models import OutboxMessage
from tests.decisions.conftest import triage_of
from tests.fixtures.factories import csrf_token, login

REASONING = "La richiesta è già coperta dal programma triennale delle opere."


@pytest.fixture
def grouped(db, setting):
    """Five letters of one campaign, all admitted and given to the same editor: the first is
    the template, the third adds something of its own, the fourth is already decided; a
    moderator confirmed the group."""
    s = setting(n=5)
    first, _second, third, _fourth, _fifth = s.observations
    group = SimilarityGroup(round_id=s.round.id, state=GroupState.PROPOSED, template_id=first.id)
    db.session.add(group)
    db.session.flush()
    for observation in s.observations:
        db.session.add(
            GroupMember(
                group_id=group.id,
                observation_id=observation.id,
                score=1.0 if observation is not third else 0.8,
                adds_something=observation is third,
            )
        )
    db.session.commit()
    grouping.confirm(db.session, group, actor=s.moderator, seen_lock=group.lock_version)
    db.session.commit()
    decided = operations.save(
        db.session,
        s.points[3],
        operations.Draft(Outcome.NOT_ACCEPTED, "Decisa a parte.", None),
        actor=s.editor,
    )
    db.session.commit()
    operations.publish(db.session, s.points[3], actor=s.editor, seen_lock=decided.lock_version)
    db.session.commit()
    return s, group


def _decide(db, s, point, publish: bool):
    decision = operations.save(
        db.session,
        point,
        operations.Draft(Outcome.NOT_RELEVANT, REASONING, None),
        actor=s.editor,
    )
    db.session.commit()
    if publish:
        operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
        db.session.commit()
    return decision


def _decision(db, point):
    return db.session.scalar(select(Decision).where(Decision.point_id == point.id))


def test_a_published_decision_goes_to_every_member_that_can_take_it(db, grouped):
    s, _group = grouped
    _decide(db, s, s.points[0], publish=True)
    mails_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    plan = groups.apply_to_group(db.session, s.points[0], actor=s.editor)
    db.session.commit()

    assert [p.id for p in plan.targets] == [s.points[1].id, s.points[4].id]
    assert {(item.observation.id, str(item.reason)) for item in plan.set_aside} == {
        (s.observations[2].id, str(groups.ADDS_SOMETHING)),
        (s.observations[3].id, str(groups.ALREADY_DECIDED)),
    }
    db.session.expire_all()
    for index in (1, 4):
        decision = _decision(db, s.points[index])
        assert decision.state is DecisionState.PUBLISHED
        assert (decision.outcome, decision.reasoning) == (Outcome.NOT_RELEVANT, REASONING)
        assert triage_of(s.observations[index]).state is TriageState.DECIDED
    assert _decision(db, s.points[2]) is None  # adds something: left for its own look
    assert _decision(db, s.points[3]).reasoning == "Decisa a parte."  # untouched
    mails_after = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert mails_after == mails_before + 2  # each author told of their own decision
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "decision.group_applied")
    )
    assert entry is not None and entry.details["applied"] == 2
    assert entry.details["set_aside"] == 2


def test_a_draft_goes_to_the_group_as_drafts(db, grouped):
    s, _group = grouped
    _decide(db, s, s.points[0], publish=False)

    groups.apply_to_group(db.session, s.points[0], actor=s.editor)
    db.session.commit()

    db.session.expire_all()
    assert _decision(db, s.points[1]).state is DecisionState.DRAFT
    assert triage_of(s.observations[1]).state is TriageState.ASSIGNED


def test_nothing_is_given_without_a_valid_decision_or_a_confirmed_group(db, grouped, setting):
    s, _group = grouped
    with pytest.raises(DecisionError):
        groups.apply_to_group(db.session, s.points[0], actor=s.editor)
    db.session.rollback()
    assert _decision(db, s.points[1]) is None

    lone = setting(n=1)
    _decide(db, lone, lone.points[0], publish=False)
    assert groups.plan_group(db.session, lone.points[0], actor=lone.editor) is None
    with pytest.raises(DecisionError):
        groups.apply_to_group(db.session, lone.points[0], actor=lone.editor)


def test_an_editor_not_assigned_may_not_give_it(db, grouped):
    s, _group = grouped
    _decide(db, s, s.points[0], publish=False)
    with pytest.raises(DecisionError):
        groups.apply_to_group(db.session, s.points[0], actor=s.other_editor)
    db.session.rollback()
    assert _decision(db, s.points[1]) is None


def test_through_the_pages_it_asks_first_and_lists_who_is_set_aside(db, client, grouped):
    s, _group = grouped
    _decide(db, s, s.points[0], publish=False)
    login(client, s.editor)
    path = f"/decisions/points/{s.points[0].id}/"
    page = client.get(path).get_data(as_text=True)
    assert "Dai questa decisione al gruppo" in page
    token = csrf_token(client, path)

    asked = client.post(f"/decisions/points/{s.points[0].id}/group", data={"csrf_token": token})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert s.points[1].label in text and s.observations[2].protocol_code in text
    assert _decision(db, s.points[1]) is None  # nothing yet

    done = client.post(
        f"/decisions/points/{s.points[0].id}/group", data={"csrf_token": token, "confirmed": "1"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert _decision(db, s.points[1]).reasoning == REASONING
    assert _decision(db, s.points[4]).reasoning == REASONING


def test_who_may_give_it_through_the_route(db, client, grouped):
    """Anonymous users are sent to log in; the author, a moderator and an editor not assigned
    to the point are refused; none of them changes anything. The assigned editor is tested
    above."""
    s, _group = grouped
    _decide(db, s, s.points[0], publish=False)
    path = f"/decisions/points/{s.points[0].id}/group"
    token = csrf_token(client, "/login")
    anonymous = client.post(path, data={"csrf_token": token, "confirmed": "1"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for user in (s.author, s.moderator, s.other_editor):
        login(client, user)
        token = csrf_token(client, "/")
        answer = client.post(path, data={"csrf_token": token, "confirmed": "1"})
        assert answer.status_code in (403, 404), user
        client.post("/logout", data={"csrf_token": token})
    db.session.expire_all()
    assert _decision(db, s.points[1]) is None
    assert _decision(db, s.points[4]) is None


def test_a_confirmed_post_without_a_confirmed_group_is_refused_and_changes_nothing(
    db, client, grouped
):
    """A forged or stale confirmation for a point whose group was dismissed meanwhile: the
    editor reads why, and no member gets a decision."""
    s, group = grouped
    _decide(db, s, s.points[0], publish=False)
    grouping.dismiss(db.session, group, actor=s.moderator, seen_lock=group.lock_version)
    db.session.commit()
    login(client, s.editor)
    path = f"/decisions/points/{s.points[0].id}/"
    token = csrf_token(client, path)
    entries = db.session.scalar(select(func.count()).select_from(AuditEntry))

    answer = client.post(
        f"/decisions/points/{s.points[0].id}/group",
        data={"csrf_token": token, "confirmed": "1"},
        follow_redirects=True,
    )

    assert answer.status_code == 200
    assert "Questa osservazione non è in un gruppo confermato." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert _decision(db, s.points[1]) is None and _decision(db, s.points[4]) is None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries
