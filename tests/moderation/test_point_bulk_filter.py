"""Bulk actions on every point of the observations a queue filter finds: preview ("N points
will change"), confirmation carrying the set's fingerprint, all or nothing, bounded statements,
a clear maximum."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation import bulk, operations, point_bulk, points, splitting, tags
from app.moderation.models import ModerationError, PointTag, TriageState
from app.moderation.queries import QueueFilter
from app.moderation.splitting import PartSpec
from app.plans.anchors import Anchor, Target
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of
from tests.moderation.test_point_work import LETTER, _three_points
from tests.moderation.test_queue import count_statements

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)
ADMITTED = QueueFilter(states=(TriageState.ADMISSIBLE, TriageState.ASSIGNED))


@pytest.fixture
def theme(db):
    tag = tags.create_theme(db.session, name="Ciclabilità", colour="teal", actor=None)
    db.session.commit()
    return tag


def _admitted(db, registered, moderator, n, round_=None):
    """``n`` admitted observations of three points each, and one left in ``received``."""
    observations = registered(n + 1, round_=round_, body_html=LETTER)
    made = [p for o in observations[:n] for p in _three_points(db, o, moderator)]
    return observations, made


def _tagged(db, tag) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(PointTag.point_id).where(PointTag.tag_id == tag.id)))


def _tag_filter(db, round_, moderator, theme, *, fingerprint=None, apply, shown_at=None):
    return point_bulk.plan_point_bulk(
        db.session,
        round_,
        action="tag",
        actor=moderator,
        chosen=ADMITTED,
        shown_at=shown_at or utcnow(),
        fingerprint=fingerprint,
        tag_id=theme.id,
        apply=apply,
    )


def test_every_point_of_a_filter_preview_then_apply(db, registered, moderator, theme):
    observations, made = _admitted(db, registered, moderator, 2)
    round_ = observations[0].round
    preview = _tag_filter(db, round_, moderator, theme, apply=False)
    assert len(preview.to_change) == 6 and preview.can_apply and preview.fingerprint
    db.session.rollback()
    assert _tagged(db, theme) == set()  # a preview changes nothing
    done = _tag_filter(db, round_, moderator, theme, fingerprint=preview.fingerprint, apply=True)
    db.session.commit()
    assert done.applied and _tagged(db, theme) == {p.id for p in made}
    # the received observation's point is not in the filter's result
    assert observations[2].points[0].id not in _tagged(db, theme)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "point.bulk_tag"))
    assert entry.details["changed"] == 6 and sorted(entry.details["point_ids"]) == sorted(
        p.id for p in made
    )


def test_a_set_changed_since_the_preview_changes_nothing(db, registered, moderator, theme):
    observations, _made = _admitted(db, registered, moderator, 2)
    round_ = observations[0].round
    preview = _tag_filter(db, round_, moderator, theme, apply=False)
    db.session.rollback()
    # another moderator admits the third observation: the filter now finds its point too
    late = triage_of(observations[2])
    operations.transition(db.session, late, "admit", actor=moderator, seen_lock=late.lock_version)
    db.session.commit()
    later = utcnow() + timedelta(seconds=1)  # no point is stale for the page's time
    plan = _tag_filter(
        db,
        round_,
        moderator,
        theme,
        fingerprint=preview.fingerprint,
        apply=True,
        shown_at=later,
    )
    db.session.commit()
    assert plan.moved and not plan.applied and len(plan.to_change) == 7
    assert _tagged(db, theme) == set()
    assert plan.can_confirm  # the page offers the new set, with its own fingerprint
    again = _tag_filter(
        db, round_, moderator, theme, fingerprint=plan.fingerprint, apply=True, shown_at=later
    )
    db.session.commit()
    assert again.applied and len(_tagged(db, theme)) == 7


def test_points_changed_after_the_queue_page_are_stale(db, registered, moderator, theme):
    observations, made = _admitted(db, registered, moderator, 2)
    shown = utcnow()
    tags.set_tags(
        db.session,
        triage_of(observations[0]),
        [theme.id],
        actor=moderator,
        seen_lock=triage_of(observations[0]).lock_version,
        now=shown + timedelta(seconds=1),
    )
    db.session.commit()
    plan = _tag_filter(db, observations[0].round, moderator, theme, apply=True, shown_at=shown)
    db.session.commit()
    assert plan.stale == [p.label for p in made[:3]] and not plan.applied
    assert _tagged(db, theme) == set()


def test_a_clear_maximum(db, registered, moderator, theme, monkeypatch):
    observations, _made = _admitted(db, registered, moderator, 1)
    monkeypatch.setattr(point_bulk, "POINTS_MAX", 2)
    with pytest.raises(ModerationError) as refused:
        _tag_filter(db, observations[0].round, moderator, theme, apply=True)
    assert "2" in str(refused.value.message)
    db.session.rollback()
    assert _tagged(db, theme) == set()


def _counted(db, plan_call) -> int:
    with count_statements(db.engine) as statements:
        plan = plan_call()
        db.session.commit()
    assert plan.applied
    return len(statements)


@pytest.mark.parametrize("action", ["tag", "untag"])
def test_statements_do_not_grow_with_the_points(db, registered, moderator, action):
    theme = tags.create_theme(db.session, name="Parcheggi", colour="blue", actor=None)
    db.session.commit()
    counts = []
    for n in (1, 6):
        observations, made = _admitted(db, registered, moderator, n)
        round_ = observations[0].round
        if action == "untag":
            _tag_filter(db, round_, moderator, theme, apply=True)
            db.session.commit()
        counts.append(
            _counted(
                db,
                lambda round_=round_: point_bulk.plan_point_bulk(
                    db.session,
                    round_,
                    action=action,
                    actor=moderator,
                    chosen=ADMITTED,
                    shown_at=utcnow(),
                    tag_id=theme.id,
                    apply=True,
                ),
            )
        )
        assert len(_tagged(db, theme) & {p.id for p in made}) == (3 * n if action == "tag" else 0)
    assert counts[0] == counts[1], counts


def test_assigning_does_not_grow_with_the_points(db, registered, moderator, make_user):
    """Each observation that becomes assigned has its transition and audit entry, as one
    assigned by hand; the points themselves cost nothing more, however many."""
    anna, bruno = make_user(Role.EDITOR), make_user(Role.EDITOR)
    counts = []
    for sentences in (2, 12):
        body = "<p>" + " ".join(f"Richiesta numero {i}." for i in range(sentences)) + "</p>"
        [observation, _other] = registered(2, body_html=body)
        made = _three_points(db, observation, moderator)
        counts.append(
            _counted(
                db,
                lambda round_=observation.round: point_bulk.plan_point_bulk(
                    db.session,
                    round_,
                    action="assign",
                    actor=moderator,
                    chosen=ADMITTED,
                    shown_at=utcnow(),
                    editor_ids=[anna.id, bruno.id],
                    apply=True,
                ),
            )
        )
        given = points.assignees_of(db.session, [p.id for p in made])
        assert len(made) == sentences and all(len(given[p.id]) == 2 for p in made)
        assert triage_of(observation).state is TriageState.ASSIGNED
    assert counts[0] == counts[1], counts


def test_statements_of_observation_bulk_do_not_grow(db, registered, moderator):
    theme = tags.create_theme(db.session, name="Parcheggi", colour="blue", actor=None)
    db.session.commit()
    counts = []
    for n in (2, 12):
        observations = registered(n)
        counts.append(
            _counted(
                db,
                lambda observations=observations, n=n: bulk.plan_bulk(
                    db.session,
                    observations[0].round,
                    action="tag",
                    actor=moderator,
                    chosen=QueueFilter(),
                    shown_at=utcnow(),
                    expected=n,
                    tag_id=theme.id,
                    apply=True,
                ),
            )
        )
    assert counts[0] == counts[1], counts


def test_observation_bulk_refuses_a_set_other_than_the_preview(db, registered, moderator):
    observations = registered(3)
    arguments = dict(
        action="admit",
        actor=moderator,
        selection={o.id: 1 for o in observations},
    )
    preview = bulk.plan_bulk(db.session, observations[0].round, apply=False, **arguments)
    db.session.rollback()
    wrong = bulk.plan_bulk(
        db.session, observations[0].round, apply=True, fingerprint="0" * 32, **arguments
    )
    assert wrong.moved and not wrong.applied
    db.session.rollback()
    assert {triage_of(o).state for o in observations} == {TriageState.RECEIVED}
    done = bulk.plan_bulk(
        db.session,
        observations[0].round,
        apply=True,
        fingerprint=preview.fingerprint,
        **arguments,
    )
    db.session.commit()
    assert done.applied and {triage_of(o).state for o in observations} == {TriageState.ADMISSIBLE}


def _queue_form(client, round_, theme):
    page = client.get(f"/moderation/rounds/{round_.id}/queue?state=admissible")
    text = page.get_data(as_text=True)
    assert 'id="points-of-filter"' in text
    shown_at = text.split('name="shown_at" value="')[-1].split('"')[0]
    return {
        "csrf_token": csrf_token(client, f"/moderation/rounds/{round_.id}/queue"),
        "point_scope": "filter",
        "shown_at": shown_at,
        "state": "admissible",
        "point_action": "tag",
        "point_tag_id": str(theme.id),
    }


def test_through_the_pages_without_javascript(db, client, registered, moderator, theme):
    observations, _made = _admitted(db, registered, moderator, 2)
    round_ = observations[0].round
    login(client, moderator)
    data = _queue_form(client, round_, theme)
    url = f"/moderation/rounds/{round_.id}/points/bulk"
    preview = client.post(url, data=data)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "6 punti cambieranno." in page
    assert 'name="confirm" value="yes"' in page and 'name="fingerprint"' in page
    fingerprint = page.split('name="fingerprint" value="')[1].split('"')[0]
    assert _tagged(db, theme) == set()
    # before the confirmation, another moderator removes a point from the set (a new split)
    first = triage_of(observations[0])
    whole = PartSpec(0, len(observations[0].body_text), None, Anchor(Target.PLAN))
    splitting.split(db.session, first, [whole], actor=moderator, seen_lock=first.lock_version)
    db.session.commit()
    data["shown_at"] = (utcnow() + timedelta(seconds=1)).isoformat()  # nothing is stale
    refused = client.post(url, data={**data, "fingerprint": fingerprint, "confirm": "yes"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "Nulla è stato modificato" in text
    assert "4 punti cambieranno." in text and _tagged(db, theme) == set()
    fingerprint = text.split('name="fingerprint" value="')[1].split('"')[0]
    done = client.post(
        url, data={**data, "fingerprint": fingerprint, "confirm": "yes"}, follow_redirects=True
    )
    assert "4 punti modificati." in done.get_data(as_text=True)
    assert len(_tagged(db, theme)) == 4


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_acts_on_every_point_of_a_filter(db, client, registered, moderator, make_user, role):
    observations, _made = _admitted(db, registered, moderator, 1)
    theme = tags.create_theme(db.session, name="Zone 30", colour="blue", actor=None)
    db.session.commit()
    login(client, make_user(role))
    response = client.post(
        f"/moderation/rounds/{observations[0].round_id}/points/bulk",
        data={
            "csrf_token": csrf_token(client, "/track"),
            "point_scope": "filter",
            "shown_at": utcnow().isoformat(),
            "state": "admissible",
            "point_action": "tag",
            "point_tag_id": str(theme.id),
        },
    )
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert response.status_code == (200 if allowed else 403)
    assert db.session.scalar(select(func.count()).select_from(PointTag)) == 0


def test_beyond_the_maximum_the_page_says_so(db, client, registered, moderator, monkeypatch):
    observations, _made = _admitted(db, registered, moderator, 1)
    theme = tags.create_theme(db.session, name="Zone 30", colour="blue", actor=None)
    db.session.commit()
    monkeypatch.setattr(point_bulk, "POINTS_MAX", 2)
    login(client, moderator)
    data = _queue_form(client, observations[0].round, theme)
    assert "Al massimo 2 punti alla volta." in client.get(
        f"/moderation/rounds/{observations[0].round_id}/queue"
    ).get_data(as_text=True)
    response = client.post(
        f"/moderation/rounds/{observations[0].round_id}/points/bulk",
        data={**data, "confirm": "yes"},
        follow_redirects=True,
    )
    assert "Al massimo 2 punti alla volta: restringi il filtro." in response.get_data(as_text=True)
    assert _tagged(db, theme) == set()
