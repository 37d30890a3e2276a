"""Bulk actions: preview then apply, every item or none, stale items reported."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation import bulk, tags
from app.moderation.models import Conflict, ModerationError, ObservationTag, Triage, TriageState
from app.moderation.queries import QueueFilter
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


@pytest.fixture
def three(db, registered):
    return registered(3)


@pytest.fixture
def theme(db):
    tag = tags.create_theme(db.session, name="Trasporti", colour="blue", actor=None)
    db.session.commit()
    return tag


def _tagged(db, tag) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(ObservationTag.observation_id).where(ObservationTag.tag_id == tag.id)
        )
    )


def _selection(observations) -> dict[int, int]:
    return {o.id: triage_of(o).lock_version for o in observations}


def test_tagging_a_selection_preview_then_apply(db, three, theme, moderator):
    round_ = three[0].round
    selection = _selection(three)
    preview = bulk.plan_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        selection=selection,
        tag_id=theme.id,
        apply=False,
    )
    assert len(preview.to_change) == 3 and preview.can_apply and not preview.applied
    db.session.commit()
    assert _tagged(db, theme) == set()  # a preview changes nothing
    done = bulk.plan_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        selection=selection,
        tag_id=theme.id,
        apply=True,
    )
    db.session.commit()
    assert done.applied and _tagged(db, theme) == {o.id for o in three}
    assert all(triage_of(o).lock_version == 2 for o in three)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "triage.bulk_tag"))
    assert entry.details["changed"] == 3 and entry.details["tag_id"] == theme.id
    again = bulk.plan_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        selection=_selection(three),
        tag_id=theme.id,
        apply=True,
    )
    assert (len(again.to_change), len(again.unchanged), again.applied) == (0, 3, False)


def test_one_stale_item_stops_all(db, three, theme, moderator):
    round_ = three[0].round
    selection = _selection(three)
    tags.set_tags(db.session, triage_of(three[1]), [], actor=moderator, seen_lock=1)
    db.session.execute(
        update(Triage).where(Triage.observation_id == three[1].id).values(lock_version=5)
    )
    db.session.commit()
    plan = bulk.plan_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        selection=selection,
        tag_id=theme.id,
        apply=True,
    )
    db.session.commit()
    assert plan.stale == [three[1].protocol_code] and not plan.applied
    assert _tagged(db, theme) == set()


def test_a_race_at_the_database_changes_nothing(db, three, theme, moderator, monkeypatch):
    round_ = three[0].round
    selection = _selection(three)
    real_apply = bulk._apply

    def another_moderator_first(*args, **kwargs):
        # after the checks, before the writes: another request commits a change to one item
        with db.engine.begin() as other:
            other.execute(
                text("UPDATE triage SET lock_version = lock_version + 1 WHERE observation_id = :i"),
                {"i": three[2].id},
            )
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(bulk, "_apply", another_moderator_first)
    with pytest.raises(Conflict):
        bulk.plan_bulk(
            db.session,
            round_,
            action="tag",
            actor=moderator,
            selection=selection,
            tag_id=theme.id,
            apply=True,
        )
    db.session.rollback()
    assert _tagged(db, theme) == set()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "triage.bulk_tag")
        )
        == 0
    )


def test_admitting_is_all_or_nothing(db, three, moderator):
    round_ = three[0].round
    db.session.execute(
        update(Triage).where(Triage.observation_id == three[0].id).values(state="assigned")
    )
    db.session.commit()
    plan = bulk.plan_bulk(
        db.session,
        round_,
        action="admit",
        actor=moderator,
        selection=_selection(three),
        apply=True,
    )
    db.session.commit()
    assert [code for code, _why in plan.blocked] == [three[0].protocol_code]
    assert not plan.applied
    assert [triage_of(o).state for o in three[1:]] == [TriageState.RECEIVED] * 2


def test_not_admissible_with_one_reason(db, three, moderator):
    round_ = three[0].round
    with pytest.raises(ModerationError):
        bulk.plan_bulk(
            db.session,
            round_,
            action="reject",
            actor=moderator,
            selection=_selection(three),
            reason=" ",
            apply=True,
        )
    plan = bulk.plan_bulk(
        db.session,
        round_,
        action="reject",
        actor=moderator,
        selection=_selection(three),
        reason="Fuori tema",
        apply=True,
    )
    db.session.commit()
    assert plan.applied and len(plan.to_change) == 3
    assert {(triage_of(o).state, triage_of(o).reason) for o in three} == {
        (TriageState.NOT_ADMISSIBLE, "Fuori tema")
    }
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "triage.reject"))
    assert len(entries.all()) == 3  # each transition recorded as one would be


def test_every_result_of_a_filter(db, registered, theme, moderator):
    observations = registered(4)
    round_ = observations[0].round
    shown = utcnow()
    chosen = QueueFilter(words=("osservazione",))
    wrong = bulk.plan_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        chosen=chosen,
        shown_at=shown,
        expected=3,
        tag_id=theme.id,
        apply=True,
    )
    assert not wrong.applied and (wrong.expected, wrong.found) == (3, 4)
    tags.set_tags(
        db.session,
        triage_of(observations[0]),
        [theme.id],
        actor=moderator,
        seen_lock=1,
        now=shown + timedelta(seconds=1),
    )
    db.session.commit()
    late = bulk.plan_bulk(
        db.session,
        round_,
        action="untag",
        actor=moderator,
        chosen=chosen,
        shown_at=shown,
        expected=4,
        tag_id=theme.id,
        apply=True,
    )
    assert late.stale == [observations[0].protocol_code] and not late.applied
    db.session.rollback()
    done = bulk.plan_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        chosen=chosen,
        shown_at=shown + timedelta(seconds=2),  # a page shown after that change
        expected=4,
        tag_id=theme.id,
        apply=True,
    )
    db.session.commit()
    assert done.applied and len(done.to_change) == 3 and len(done.unchanged) == 1
    assert _tagged(db, theme) == {o.id for o in observations}


def test_items_of_another_round_are_reported(db, registered, make_round, theme, moderator):
    [mine] = registered()
    [theirs] = registered(round_=make_round())
    plan = bulk.plan_bulk(
        db.session,
        mine.round,
        action="tag",
        actor=moderator,
        selection={mine.id: 1, theirs.id: 1},
        tag_id=theme.id,
        apply=True,
    )
    assert plan.missing == 1 and not plan.applied


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_act_in_bulk(db, client, three, theme, make_user, role):
    round_ = three[0].round
    login(client, make_user(role))
    data = {
        "csrf_token": csrf_token(client, "/track"),
        "bulk_action": "tag",
        "bulk_tag_id": theme.id,
        "item": [f"{o.id}:1" for o in three],
        "confirm": "yes",
    }
    response = client.post(f"/moderation/rounds/{round_.id}/bulk", data=data)
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert response.status_code == (303 if allowed else 403)
    assert _tagged(db, theme) == ({o.id for o in three} if allowed else set())


def test_through_the_pages_without_javascript(db, client, three, theme, moderator):
    round_ = three[0].round
    login(client, moderator)
    queue = client.get(f"/moderation/rounds/{round_.id}/queue?state=received").get_data(
        as_text=True
    )
    assert f'value="{three[0].id}:1"' in queue
    data = {
        "csrf_token": csrf_token(client, f"/moderation/rounds/{round_.id}/queue"),
        "bulk_action": "tag",
        "bulk_tag_id": theme.id,
        "bulk_scope": "selected",
        "item": [f"{o.id}:1" for o in three[:2]],
        "state": "received",
    }
    preview = client.post(f"/moderation/rounds/{round_.id}/bulk", data=data)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'name="confirm" value="yes"' in page
    assert _tagged(db, theme) == set()
    done = client.post(
        f"/moderation/rounds/{round_.id}/bulk",
        data={**data, "confirm": "yes"},
        follow_redirects=True,
    )
    assert "2 " in done.get_data(as_text=True)
    assert _tagged(db, theme) == {three[0].id, three[1].id}
    stale = client.post(f"/moderation/rounds/{round_.id}/bulk", data={**data, "confirm": "yes"})
    assert stale.status_code == 409  # the page's locks are old now: nothing changes
    text_ = stale.get_data(as_text=True)
    assert three[0].protocol_code in text_


def test_garbled_items_are_a_bad_request(client, three, moderator):
    login(client, moderator)
    response = client.post(
        f"/moderation/rounds/{three[0].round_id}/bulk",
        data={
            "csrf_token": csrf_token(client, "/track"),
            "bulk_action": "tag",
            "item": ["1:x; DROP"],
        },
    )
    assert response.status_code == 400
