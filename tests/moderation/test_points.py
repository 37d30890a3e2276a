"""Moderation on points: tags, assignment to plan editors (the triage follows), my assignments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.moderation import operations, points, queries, tags
from app.moderation.models import Conflict, ModerationError, TriageState
from app.moderation.queries import QueueFilter
from app.observations.models import Point
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


def _point_one(db, observation) -> Point:
    return db.session.scalar(
        select(Point).where(Point.observation_id == observation.id, Point.number == 1)
    )


def _admit(db, observation, moderator):
    operations.transition(
        db.session,
        triage_of(observation),
        "admit",
        actor=moderator,
        seen_lock=triage_of(observation).lock_version,
    )
    db.session.commit()


def test_tags_on_a_point(db, registered, moderator):
    [observation] = registered()
    point = _point_one(db, observation)
    theme = tags.create_theme(db.session, name="Nodi di interscambio", colour="teal", actor=None)
    db.session.commit()
    points.set_point_tags(
        db.session, triage_of(observation), point, [theme.id], actor=moderator, seen_lock=1
    )
    db.session.commit()
    assert [t.id for t in points.point_tags_of(db.session, [point.id])[point.id]] == [theme.id]
    with pytest.raises(Conflict):
        points.set_point_tags(
            db.session, triage_of(observation), point, [], actor=moderator, seen_lock=1
        )
    db.session.rollback()
    page = queries.queue_page(db.session, observation.round, QueueFilter(tag_id=theme.id))
    assert [r.observation.id for r in page.rows] == [observation.id]


def test_assigning_points_moves_the_triage(db, registered, moderator, make_user):
    [observation] = registered()
    point = _point_one(db, observation)
    anna, bruno = make_user(Role.EDITOR, name="Anna"), make_user(Role.EDITOR, name="Bruno")
    with pytest.raises(ModerationError):  # not admitted yet
        points.set_assignees(
            db.session, triage_of(observation), point, [anna.id], actor=moderator, seen_lock=1
        )
    db.session.rollback()
    _admit(db, observation, moderator)
    triage = triage_of(observation)
    points.set_assignees(
        db.session,
        triage,
        point,
        [anna.id, bruno.id],
        actor=moderator,
        seen_lock=triage.lock_version,
    )
    db.session.commit()
    triage = triage_of(observation)
    assert triage.state is TriageState.ASSIGNED
    assert {u.id for u in points.assignees_of(db.session, [point.id])[point.id]} == {
        anna.id,
        bruno.id,
    }
    page = queries.queue_page(db.session, observation.round, QueueFilter(assignee_id=anna.id))
    assert page.total == 1
    with pytest.raises(ModerationError):  # a moderator is not a plan editor
        points.set_assignees(
            db.session,
            triage,
            point,
            [moderator.id],
            actor=moderator,
            seen_lock=triage.lock_version,
        )
    db.session.rollback()
    points.set_assignees(
        db.session,
        triage_of(observation),
        point,
        [],
        actor=moderator,
        seen_lock=triage_of(observation).lock_version,
    )
    db.session.commit()
    assert triage_of(observation).state is TriageState.ADMISSIBLE


def test_an_editor_does_not_assign(db, registered, moderator, make_user):
    [observation] = registered()
    _admit(db, observation, moderator)
    editor = make_user(Role.EDITOR)
    with pytest.raises(ModerationError):
        points.set_assignees(
            db.session,
            triage_of(observation),
            _point_one(db, observation),
            [editor.id],
            actor=editor,
            seen_lock=triage_of(observation).lock_version,
        )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_my_assignments_page(db, client, registered, moderator, make_user, role):
    observations = registered(3)
    user = make_user(role)
    editor = user if role in (Role.EDITOR, Role.ADMIN) else make_user(Role.EDITOR)
    for observation in observations[:2]:
        _admit(db, observation, moderator)
        points.set_assignees(
            db.session,
            triage_of(observation),
            _point_one(db, observation),
            [editor.id],
            actor=moderator,
            seen_lock=triage_of(observation).lock_version,
        )
        db.session.commit()
    login(client, user)
    response = client.get("/moderation/assignments")
    if role in (Role.EDITOR, Role.ADMIN):
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert f"{observations[0].protocol_code}/1" in page
        assert f"{observations[2].protocol_code}/1" not in page
        [(round_, total, open_)] = points.assignment_counts(db.session, editor)
        assert (round_.id, total, open_) == (observations[0].round_id, 2, 2)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_assigns_through_the_page(db, client, registered, moderator, make_user, role):
    [observation] = registered()
    _admit(db, observation, moderator)
    editor = make_user(Role.EDITOR)
    point = _point_one(db, observation)
    login(client, make_user(role))
    response = client.post(
        f"/moderation/points/{point.id}/assignees",
        data={
            "csrf_token": csrf_token(client, "/track"),
            "editors": [editor.id],
            "lock_version": triage_of(observation).lock_version,
        },
    )
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert response.status_code == (303 if allowed else 403)
    assert triage_of(observation).state is (
        TriageState.ASSIGNED if allowed else TriageState.ADMISSIBLE
    )
