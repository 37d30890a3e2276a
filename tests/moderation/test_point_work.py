"""Bulk actions on points (tag, untag, assign, unassign: all or nothing, stale detection) and
internal notes on points (staff only, never public)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation import operations, point_bulk, points, splitting, tags
from app.moderation.models import InternalNote, ModerationError, TriageState
from app.moderation.splitting import PartSpec
from app.observations.models import Point, PointState
from app.plans.anchors import Anchor, Target
from app.rounds import operations as rounds
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of

LETTER = "<p>Prima richiesta sulle piste. Seconda richiesta sui parcheggi. Terza sul tavolo.</p>"
ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)
SECRET = "Nota riservata sul punto"


def _three_points(db, observation, moderator) -> list[Point]:
    triage = triage_of(observation)
    plan = Anchor(Target.PLAN)
    parts = [PartSpec(a, b, None, plan) for a, b in splitting.segments(observation.body_text)]
    result = splitting.split(
        db.session, triage, parts, actor=moderator, seen_lock=triage.lock_version
    )
    operations.transition(
        db.session, triage, "admit", actor=moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    return result.points


def _selection(observation, chosen):
    lock = triage_of(observation).lock_version
    return {p.id: lock for p in chosen}


def test_bulk_tag_then_assign_then_unassign(db, registered, moderator, make_user):
    [observation] = registered(body_html=LETTER)
    three = _three_points(db, observation, moderator)
    theme = tags.create_theme(db.session, name="Mobilità", colour="teal", actor=None)
    anna, bruno = make_user(Role.EDITOR, name="Anna"), make_user(Role.EDITOR, name="Bruno")
    db.session.commit()
    round_ = observation.round
    preview = point_bulk.plan_point_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        selection=_selection(observation, three),
        tag_id=theme.id,
        apply=False,
    )
    assert preview.can_apply and len(preview.to_change) == 3
    db.session.rollback()
    plan = point_bulk.plan_point_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        selection=_selection(observation, three),
        tag_id=theme.id,
        apply=True,
    )
    db.session.commit()
    assert plan.applied
    assert all(points.point_tags_of(db.session, [p.id])[p.id] for p in three)
    plan = point_bulk.plan_point_bulk(
        db.session,
        round_,
        action="assign",
        actor=moderator,
        selection=_selection(observation, three[:2]),
        editor_ids=[anna.id, bruno.id],
        apply=True,
    )
    db.session.commit()
    assert plan.applied and triage_of(observation).state is TriageState.ASSIGNED
    given = points.assignees_of(db.session, [p.id for p in three])
    assert [len(given[p.id]) for p in three] == [2, 2, 0]
    again = point_bulk.plan_point_bulk(
        db.session,
        round_,
        action="assign",
        actor=moderator,
        selection=_selection(observation, three[:2]),
        editor_ids=[anna.id],
        apply=False,
    )
    assert not again.can_apply and len(again.unchanged) == 2  # already so
    db.session.rollback()
    point_bulk.plan_point_bulk(
        db.session,
        round_,
        action="unassign",
        actor=moderator,
        selection=_selection(observation, three),
        editor_ids=[anna.id, bruno.id],
        apply=True,
    )
    db.session.commit()
    assert triage_of(observation).state is TriageState.ADMISSIBLE
    actions = db.session.scalars(select(AuditEntry.action)).all()
    for code in ("point.bulk_tag", "point.bulk_assign", "point.bulk_unassign"):
        assert code in actions


def test_a_stale_or_blocked_point_changes_nothing(db, registered, moderator, make_user):
    first, second = registered(2, body_html=LETTER)
    three = _three_points(db, first, moderator)
    [unadmitted] = second.points
    anna = make_user(Role.EDITOR)
    stale = {**_selection(first, three), three[0].id: 1}
    plan = point_bulk.plan_point_bulk(
        db.session,
        first.round,
        action="assign",
        actor=moderator,
        selection=stale,
        editor_ids=[anna.id],
        apply=True,
    )
    assert not plan.applied and plan.stale == [three[0].label]
    db.session.rollback()
    mixed = {**_selection(first, three), unadmitted.id: triage_of(second).lock_version}
    plan = point_bulk.plan_point_bulk(
        db.session,
        first.round,
        action="assign",
        actor=moderator,
        selection=mixed,
        editor_ids=[anna.id],
        apply=True,
    )
    assert not plan.applied and [label for label, _ in plan.blocked] == [unadmitted.label]
    db.session.rollback()
    assert points.assignees_of(db.session, [p.id for p in three]) == {p.id: [] for p in three}
    for kwargs in ({"editor_ids": []}, {"editor_ids": [moderator.id]}):
        with pytest.raises(ModerationError):
            point_bulk.plan_point_bulk(
                db.session,
                first.round,
                action="assign",
                actor=moderator,
                selection=_selection(first, three),
                apply=True,
                **kwargs,
            )
        db.session.rollback()
    with pytest.raises(ModerationError):
        point_bulk.plan_point_bulk(
            db.session,
            first.round,
            action="assign",
            actor=make_user(Role.EDITOR),
            selection=_selection(first, three),
            editor_ids=[anna.id],
            apply=True,
        )
    db.session.rollback()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_acts_on_points_in_bulk(db, client, registered, moderator, make_user, role):
    [observation] = registered(body_html=LETTER)
    three = _three_points(db, observation, moderator)
    anna = make_user(Role.EDITOR)
    login(client, make_user(role))
    lock = triage_of(observation).lock_version
    data = {
        "csrf_token": csrf_token(client, "/track"),
        "point_action": "assign",
        "editors": [str(anna.id)],
        "point": [f"{p.id}:{lock}" for p in three],
        "back": f"/moderation/observations/{observation.id}",
    }
    url = f"/moderation/rounds/{observation.round_id}/points/bulk"
    preview = client.post(url, data=data)
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert preview.status_code == (200 if allowed else 403)
    if allowed:
        assert "3 punti cambieranno." in preview.get_data(as_text=True)
    applied = client.post(url, data={**data, "confirm": "yes"})
    assert applied.status_code == (303 if allowed else 403)
    given = points.assignees_of(db.session, [p.id for p in three])
    assert all(len(given[p.id]) == (1 if allowed else 0) for p in three)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_writes_and_reads_notes_on_points(db, client, registered, make_user, role):
    [observation] = registered(body_html=LETTER)
    [point] = observation.points
    login(client, make_user(role))
    response = client.post(
        f"/moderation/points/{point.id}/notes",
        data={"csrf_token": csrf_token(client, "/track"), "body": SECRET},
    )
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert response.status_code == (303 if allowed else 403)
    notes = db.session.scalars(select(InternalNote)).all()
    assert [n.point_id for n in notes] == ([point.id] if allowed else [])
    page = client.get(f"/moderation/observations/{observation.id}")
    assert (SECRET in page.get_data(as_text=True)) == allowed


def test_a_point_note_never_reaches_the_author_or_the_public(db, app, registered, moderator):
    [observation] = registered(body_html=LETTER)
    [point] = observation.points
    operations.add_note(db.session, observation, author=moderator, body=SECRET, point=point)
    rounds.change_state(db.session, observation.round, "close", actor=None, now=utcnow())
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "point.note_added"))
    assert entry.object_id == str(point.id) and SECRET not in str(entry.details)
    author = app.test_client()
    login(author, observation.author)
    assert SECRET not in author.get(f"/observations/{observation.id}/").get_data(as_text=True)
    anyone = app.test_client()
    public = anyone.get(f"/published/rounds/{observation.round_id}")
    assert public.status_code == 200 and SECRET not in public.get_data(as_text=True)
    assert point.state is PointState.ACTIVE


def test_statements_of_the_item_and_split_pages_do_not_grow_with_the_points(
    db, client, registered, moderator
):
    from tests.moderation.test_queue import count_statements

    counts = {}
    login(client, moderator)
    for sentences in (2, 12):
        body = "<p>" + " ".join(f"Richiesta numero {i}." for i in range(sentences)) + "</p>"
        [observation] = registered(body_html=body)
        many = _three_points(db, observation, moderator)
        for point in many:
            operations.add_note(db.session, observation, author=moderator, body="Nota", point=point)
        db.session.commit()
        for page in ("", "/split"):
            with count_statements(db.engine) as statements:
                response = client.get(f"/moderation/observations/{observation.id}{page}")
            assert response.status_code == 200
            counts.setdefault(page, []).append(len(statements))
    assert all(a == b for a, b in counts.values()), counts
