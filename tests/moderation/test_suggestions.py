"""Suggestions kept apart from decisions: what is suggested, what accepting does, where each tag
and anchor came from (in the data and in the audit trail), who may accept, and how often the
top suggestion is right on the labelled sample (the figure in docs/performance.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.moderation import points, suggestions, tags
from app.moderation.models import (
    PointTag,
    Source,
    Suggestion,
    SuggestionKind,
    SuggestionState,
)
from app.observations.models import Point
from app.plans.demo import SLUG, load_demo_plan
from app.plans.models import Plan, PolicyArea, Section
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)
SAMPLE = Path(__file__).parent / "data" / "suggestions_sample.csv"

MOBILITY = (
    "Chiediamo più corse del trasporto pubblico tra i comuni della zona nord, nuovi parcheggi di "
    "interscambio e piste ciclabili verso le stazioni, per una vera intermodalità."
)


def labelled_sample() -> list[tuple[str, PolicyArea, str]]:
    with SAMPLE.open(encoding="utf-8") as handle:
        return [(r["text"], PolicyArea(r["area"]), r["section"]) for r in csv.DictReader(handle)]


@pytest.fixture
def demo_version(db):
    load_demo_plan(db.session)
    tags.seed_tags(db.session)
    db.session.commit()
    plan = db.session.scalar(select(Plan).where(Plan.slug == SLUG))
    return next(v for v in plan.versions if v.number == 1)


@pytest.fixture
def mobility_point(db, demo_version, make_round, registered, moderator):
    round_ = make_round(version=demo_version)
    [observation] = registered(round_=round_, body_html=f"<p>{MOBILITY}</p>")
    suggestions.suggest_round(db.session, round_, actor=moderator)
    db.session.commit()
    return db.session.scalar(select(Point).where(Point.observation_id == observation.id))


def _open(db, point, kind):
    return [
        s for s in suggestions.open_suggestions(db.session, [point.id])[point.id] if s.kind is kind
    ]


def test_suggestions_change_nothing_until_accepted(db, mobility_point):
    point = mobility_point
    areas = _open(db, point, SuggestionKind.POLICY_AREA)
    sections = _open(db, point, SuggestionKind.SECTION)
    assert areas[0].policy_area is PolicyArea.VELOCE and areas[0].rank == 1
    assert [s.rank for s in areas] == sorted(s.rank for s in areas)
    assert areas[0].score >= areas[-1].score > 0
    top_section = db.session.get(Section, sections[0].section_id)
    assert top_section.number == "2.5"
    assert points.point_tags_of(db.session, [point.id])[point.id] == []  # nothing tagged
    assert point.section_id is None


def test_accepting_records_a_suggestion_and_a_person_records_a_person(
    db, mobility_point, moderator
):
    point = mobility_point
    observation = point.observation
    area = _open(db, point, SuggestionKind.POLICY_AREA)[0]
    section = _open(db, point, SuggestionKind.SECTION)[0]
    triage = triage_of(observation)
    suggestions.decide(
        db.session, triage, area, accept=True, actor=moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    triage = triage_of(observation)
    suggestions.decide(
        db.session, triage, section, accept=True, actor=moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    # a person's own tag, beside it
    theme = tags.create_theme(db.session, name="Nodi di interscambio", colour="teal", actor=None)
    db.session.commit()
    triage = triage_of(observation)
    current = [t.id for t in points.point_tags_of(db.session, [point.id])[point.id]]
    points.set_point_tags(
        db.session,
        triage,
        point,
        [*current, theme.id],
        actor=moderator,
        seen_lock=triage.lock_version,
    )
    db.session.commit()

    sources = {
        row.tag_id: row.source
        for row in db.session.scalars(select(PointTag).where(PointTag.point_id == point.id))
    }
    veloce = db.session.scalar(select(tags.Tag.id).where(tags.Tag.policy_area == PolicyArea.VELOCE))
    assert sources == {veloce: Source.SUGGESTION, theme.id: Source.PERSON}
    db.session.expire_all()
    point = db.session.get(Point, point.id)
    assert point.section_id == section.section_id
    assert suggestions.anchor_source(db.session, point) is Source.SUGGESTION
    assert db.session.get(Suggestion, area.id).state is SuggestionState.ACCEPTED
    accepted = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "suggestion.accepted").order_by(AuditEntry.id)
    ).all()
    assert [e.details["kind"] for e in accepted] == ["policy_area", "section"]
    assert all(e.details["source"] == "suggestion" and e.actor_id == moderator.id for e in accepted)
    assert accepted[0].details["tag_id"] == veloce
    person = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "point.tags_changed")
    ).one()
    assert person.details["added"] == [theme.id]
    # the item page says where the tags came from
    assert len(suggestions.tag_sources(db.session, [point.id])) == 2


def test_a_dismissed_suggestion_tags_nothing(db, mobility_point, moderator):
    point = mobility_point
    area = _open(db, point, SuggestionKind.POLICY_AREA)[0]
    triage = triage_of(point.observation)
    suggestions.decide(
        db.session, triage, area, accept=False, actor=moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    assert points.point_tags_of(db.session, [point.id])[point.id] == []
    assert area.id not in {
        s.id for s in suggestions.open_suggestions(db.session, [point.id])[point.id]
    }
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "suggestion.dismissed")
    ).one()
    assert entry.details["kind"] == "policy_area"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_accepts_through_the_page(db, client, mobility_point, make_user, role):
    point = mobility_point
    area = _open(db, point, SuggestionKind.POLICY_AREA)[0]
    login(client, make_user(role))
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    item = client.get(f"/moderation/observations/{point.observation_id}")
    assert item.status_code == (200 if allowed else 403)
    if allowed:
        page = item.get_data(as_text=True)
        assert "Veloce e integrata" in page and f"/moderation/suggestions/{area.id}" in page
    response = client.post(
        f"/moderation/suggestions/{area.id}",
        data={
            "csrf_token": csrf_token(client, "/track"),
            "decision": "accept",
            "lock_version": triage_of(point.observation).lock_version,
        },
    )
    assert response.status_code == (303 if allowed else 403)
    db.session.expire_all()
    assert db.session.get(Suggestion, area.id).state is (
        SuggestionState.ACCEPTED if allowed else SuggestionState.OPEN
    )
    compute = client.post(
        f"/moderation/rounds/{point.observation.round_id}/suggestions",
        data={"csrf_token": csrf_token(client, "/track")},
    )
    assert compute.status_code == (303 if allowed else 403)


def test_a_bad_decision_is_refused(db, client, mobility_point, moderator):
    point = mobility_point
    area = _open(db, point, SuggestionKind.POLICY_AREA)[0]
    login(client, moderator)
    token = csrf_token(client, "/track")
    assert (
        client.post(
            f"/moderation/suggestions/{area.id}", data={"csrf_token": token, "decision": "maybe"}
        ).status_code
        == 400
    )
    stale = client.post(
        f"/moderation/suggestions/{area.id}",
        data={"csrf_token": token, "decision": "accept", "lock_version": "999"},
    )
    assert stale.status_code == 303
    db.session.expire_all()
    assert db.session.get(Suggestion, area.id).state is SuggestionState.OPEN
    assert (
        client.post("/moderation/suggestions/999999", data={"csrf_token": token}).status_code == 404
    )


def test_how_often_the_top_suggestion_is_right(db, demo_version):
    """The evaluation behind docs/performance.md's figure (not a threshold)."""
    result = suggestions.evaluate(
        suggestions.Suggester(db.session, demo_version), labelled_sample()
    )
    assert result.points == 41
    assert 0 <= result.area_top1 <= result.area_top3 <= result.points
    assert 0 <= result.section_top1 <= result.section_top3 <= result.points
    print(
        f"top area right {result.area_top1}/{result.points}, "
        f"top section right {result.section_top1}/{result.points}"
    )


def test_scoring_many_texts_at_once_is_scoring_each_alone(db, demo_version, monkeypatch):
    """The whole-round pass scores every point in one matrix (copies of a text once, a few rows
    made dense at a time): each point gets what it would get alone."""
    monkeypatch.setattr(suggestions, "_DENSE_ROWS", 7)
    suggester = suggestions.Suggester(db.session, demo_version)
    texts = [text for text, _area, _section in labelled_sample()]
    alone = [suggester.score([text])[0] for text in texts]
    together = suggester.score([*texts, *texts[:5]])
    assert together == [*alone, *alone[:5]]
    assert all(
        [s.score for s in scored if s.kind is kind]
        == sorted((s.score for s in scored if s.kind is kind), reverse=True)
        for scored in alone
        for kind in SuggestionKind
    )
    assert all(
        sum(s.kind is kind for s in scored) <= suggestions.KEEP
        for scored in alone
        for kind in SuggestionKind
    )


def test_the_suggestion_pass_runs_from_the_command_line(
    app, db, demo_version, make_round, registered
):
    round_ = make_round(version=demo_version)
    [observation] = registered(round_=round_, body_html=f"<p>{MOBILITY}</p>")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["moderation", "suggest", str(round_.id)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    point = db.session.scalar(select(Point).where(Point.observation_id == observation.id))
    areas = _open(db, point, SuggestionKind.POLICY_AREA)
    assert areas and areas[0].policy_area is PolicyArea.VELOCE
    assert f"{len(suggestions.open_suggestions(db.session, [point.id])[point.id])} suggestions" in (
        result.output
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "suggestion.computed")
    ).one()
    assert entry.actor_id is None and entry.details["points"] == 1
    unknown = runner.invoke(args=["moderation", "suggest", "999999"])
    assert unknown.exit_code != 0 and "999999" in unknown.output
