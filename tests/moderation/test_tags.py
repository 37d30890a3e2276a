"""Tags in families: seeding, palette, rename and merge without losing assignments, tagging."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.moderation import queries, tags
from app.moderation.models import (
    PALETTE,
    Conflict,
    ModerationError,
    ObservationTag,
    Tag,
    TagFamily,
)
from app.moderation.queries import QueueFilter
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "traccia.css"


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("name", list(PALETTE))
def test_every_colour_gives_white_text_aa_contrast(name):
    contrast = 1.05 / (_luminance(PALETTE[name]) + 0.05)
    assert contrast >= 4.5, (name, contrast)
    css = CSS.read_text()
    assert re.search(rf"\.tag-{name} {{ background-color: {PALETTE[name]}; }}", css)


def test_seeding_gives_six_policy_areas_and_a_tag_per_zone(db, make_zone):
    make_zone("Nord Milano")
    make_zone("Adda Martesana")
    assert tags.seed_tags(db.session) == {"policy_areas": 6, "zones": 2}
    db.session.commit()
    assert tags.seed_tags(db.session) == {"policy_areas": 0, "zones": 0}
    names = dict(db.session.execute(select(Tag.name, Tag.family).order_by(Tag.id)).all())
    assert list(names)[:6] == list(tags.POLICY_AREA_NAMES.values())
    assert names["Nord Milano"] is TagFamily.ZONE


@pytest.fixture
def theme(db, moderator):
    def make(name, colour="blue"):
        tag = tags.create_theme(db.session, name=name, colour=colour, actor=moderator)
        db.session.commit()
        return tag

    return make


def test_names_are_unique_in_a_family_case_and_accents_aside(db, theme, moderator):
    theme("Mobilità")
    for name in ("mobilita", " MOBILITÀ ", "Mobilita"):
        with pytest.raises(ModerationError) as refused:
            tags.create_theme(db.session, name=name, colour="blue", actor=moderator)
        assert refused.value.field == "name"
        db.session.rollback()
    for name, colour in (("", "blue"), ("x" * 81, "blue"), ("Verde", "#ff0000")):
        with pytest.raises(ModerationError):
            tags.create_theme(db.session, name=name, colour=colour, actor=moderator)
        db.session.rollback()


def _tag(db, triage, tag_ids, actor):
    tags.set_tags(db.session, triage, tag_ids, actor=actor, seen_lock=triage.lock_version)
    db.session.commit()


def _tagged(db, tag) -> set[int]:
    return set(
        db.session.scalars(
            select(ObservationTag.observation_id).where(ObservationTag.tag_id == tag.id)
        )
    )


def test_renaming_keeps_every_assignment(db, registered, theme, moderator):
    first, second = registered(2)
    verde = theme("Verde")
    _tag(db, triage_of(first), [verde.id], moderator)
    _tag(db, triage_of(second), [verde.id], moderator)
    tags.update_tag(
        db.session, verde, name="Verde urbano", colour="green", actor=moderator, seen_lock=1
    )
    db.session.commit()
    assert _tagged(db, verde) == {first.id, second.id}
    assert db.session.get(Tag, verde.id).name == "Verde urbano"
    with pytest.raises(Conflict):  # a page from before the rename
        tags.update_tag(
            db.session, verde, name="Alberi", colour="green", actor=moderator, seen_lock=1
        )
    db.session.rollback()
    theme("Alberi")
    with pytest.raises(ModerationError):
        tags.update_tag(
            db.session, verde, name="alberi", colour="green", actor=moderator, seen_lock=2
        )


def test_merging_moves_every_assignment(db, registered, theme, moderator):
    one, two, three = registered(3)
    bici, ciclabili = theme("Bici"), theme("Ciclabili")
    _tag(db, triage_of(one), [bici.id], moderator)
    _tag(db, triage_of(two), [bici.id, ciclabili.id], moderator)
    _tag(db, triage_of(three), [ciclabili.id], moderator)
    assert tags.merge_preview(db.session, bici, ciclabili) == {"moved": 1, "already": 1}
    locks = triage_of(one).lock_version
    tags.merge_tags(db.session, bici, ciclabili, actor=moderator, seen_locks=(1, 1))
    db.session.commit()
    assert _tagged(db, ciclabili) == {one.id, two.id, three.id}
    assert _tagged(db, bici) == set()
    assert db.session.get(Tag, bici.id).merged_into_id == ciclabili.id
    assert triage_of(one).lock_version == locks + 1  # pages shown before see the change
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tag.merged"))
    assert entry.details == {"target_id": ciclabili.id, "moved": 1, "already": 1}
    theme("Bici")  # the name is free again


def test_what_cannot_be_merged(db, theme, moderator, make_zone):
    bici = theme("Bici")
    with pytest.raises(ModerationError) as refused:
        tags.merge_preview(db.session, bici, bici)
    assert refused.value.field == "target"
    tags.seed_tags(db.session)
    area = db.session.scalar(select(Tag).where(Tag.family == TagFamily.POLICY_AREA).limit(1))
    with pytest.raises(ModerationError):
        tags.merge_preview(db.session, area, bici)
    with pytest.raises(ModerationError):
        tags.merge_preview(db.session, bici, area)


def test_tagging_an_observation(db, registered, theme, moderator):
    [observation] = registered()
    verde, bici = theme("Verde"), theme("Bici")
    triage = triage_of(observation)
    changes = tags.set_tags(db.session, triage, [verde.id, bici.id], actor=moderator, seen_lock=1)
    db.session.commit()
    assert changes == {"added": sorted([verde.id, bici.id]), "removed": []}
    triage = triage_of(observation)
    assert triage.lock_version == 2
    with pytest.raises(Conflict):
        tags.set_tags(db.session, triage, [], actor=moderator, seen_lock=1)
    db.session.rollback()
    tags.set_tags(db.session, triage_of(observation), [bici.id], actor=moderator, seen_lock=2)
    db.session.commit()
    assert [t.name for t in tags.tags_of(db.session, [observation.id])[observation.id]] == ["Bici"]
    with pytest.raises(ModerationError):
        tags.set_tags(db.session, triage_of(observation), [999999], actor=moderator, seen_lock=3)
    page = queries.queue_page(db.session, observation.round, QueueFilter(tag_id=bici.id))
    assert [row.observation.id for row in page.rows] == [observation.id]
    assert (
        queries.queue_page(db.session, observation.round, QueueFilter(tag_id=verde.id)).total == 0
    )


# Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_manages_tags(db, client, make_user, role):
    login(client, make_user(role))
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert client.get("/moderation/tags").status_code == (200 if allowed else 403)
    response = client.post(
        "/moderation/tags",
        data={"csrf_token": csrf_token(client, "/track"), "name": "Verde", "colour": "green"},
    )
    assert response.status_code == (303 if allowed else 403)
    assert db.session.scalar(select(func.count()).select_from(Tag)) == (1 if allowed else 0)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_tags_an_observation(db, client, registered, make_user, role):
    [observation] = registered()
    tag = tags.create_theme(db.session, name="Verde", colour="green", actor=None)
    db.session.commit()
    login(client, make_user(role))
    client.post(
        f"/moderation/observations/{observation.id}/tags",
        data={"csrf_token": csrf_token(client, "/track"), "tags": [tag.id], "lock_version": 1},
    )
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert _tagged(db, tag) == ({observation.id} if allowed else set())


def test_a_merge_through_the_pages_asks_first(db, client, registered, theme, moderator):
    [observation] = registered()
    bici, ciclabili = theme("Bici"), theme("Ciclabili")
    _tag(db, triage_of(observation), [bici.id], moderator)
    login(client, moderator)
    token = csrf_token(client, f"/moderation/tags/{bici.id}")
    data = {"csrf_token": token, "target": ciclabili.id, "lock_version": 1}
    page = client.post(f"/moderation/tags/{bici.id}/merge", data=data).get_data(as_text=True)
    assert "confirm" in page and _tagged(db, ciclabili) == set()  # only the question so far
    response = client.post(
        f"/moderation/tags/{bici.id}/merge",
        data={**data, "target_lock": 1, "confirm": "yes"},
    )
    assert response.status_code == 303
    assert _tagged(db, ciclabili) == {observation.id}
    assert client.get(f"/moderation/tags/{bici.id}").status_code == 404
    response = client.post(
        f"/moderation/tags/{ciclabili.id}/merge",
        data={**data, "target": ciclabili.id, "confirm": "yes"},
        follow_redirects=True,
    )
    assert _tagged(db, ciclabili) == {observation.id}
