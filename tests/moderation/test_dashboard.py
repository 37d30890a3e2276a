"""A round's dashboard: its numbers on a small constructed round, who sees it, the charts with
their tables, and statements that do not grow with the round."""

from __future__ import annotations

import re

import pytest

from app.accounts.models import Role
from app.moderation import dashboard, operations, points, tags
from app.moderation.models import PointTag, Tag, TriageState
from app.observations.models import Channel, Point
from app.plans.models import PolicyArea
from app.stakeholders.models import OrganisationKind
from tests.fixtures.factories import login
from tests.moderation.conftest import triage_of
from tests.moderation.test_queue import count_statements

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


@pytest.fixture
def small_round(
    db, make_round, make_zone, make_comune, make_referent, make_observation, moderator, make_user
):
    """Five eligible comuni (two in Zona Nord), three of which submitted four observations:
    one admitted with its point tagged Veloce and assigned, one not admissible, two received."""
    tags.seed_tags(db.session)
    db.session.commit()
    north = make_zone("Zona Nord")
    round_ = make_round(kinds=(OrganisationKind.COMUNE,))
    comuni = [
        make_comune(zone=north),
        make_comune(zone=north),
        make_comune(),
        make_comune(),
        make_comune(),
    ]
    authors = [make_referent(c) for c in comuni[:3]]
    observations = [
        make_observation(round_, authors[0], title="Prima"),
        make_observation(round_, authors[0], title="Seconda"),
        make_observation(round_, authors[1], title="Terza"),
        make_observation(round_, authors[2], title="Quarta"),
    ]
    first, second = observations[0], observations[1]
    operations.transition(db.session, triage_of(first), "admit", actor=moderator, seen_lock=1)
    db.session.commit()
    operations.transition(
        db.session, triage_of(second), "reject", actor=moderator, seen_lock=1, reason="Fuori tema"
    )
    db.session.commit()
    point = db.session.query(Point).filter_by(observation_id=first.id).one()
    veloce = db.session.query(Tag).filter_by(policy_area=PolicyArea.VELOCE).one()
    db.session.add(PointTag(point_id=point.id, tag_id=veloce.id))
    editor = make_user(Role.EDITOR)
    triage = triage_of(first)
    points.set_assignees(
        db.session, triage, point, [editor.id], actor=moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    return round_, observations


def test_numbers_on_a_small_round(db, small_round):
    round_, observations = small_round
    board = dashboard.round_dashboard(db.session, round_)
    assert board.total == 4
    assert board.by_state == {
        TriageState.ASSIGNED: 1,
        TriageState.NOT_ADMISSIBLE: 1,
        TriageState.RECEIVED: 2,
    }
    assert board.triaged == 2 and board.percent(board.triaged, board.total) == 50
    assert board.by_area == {PolicyArea.VELOCE: 1}
    assert board.by_kind == {OrganisationKind.COMUNE: 4}
    assert board.by_zone == [("Zona Nord", 3), (None, 1)]
    assert board.by_channel == {Channel.WEB: 4}
    assert (board.points, board.points_assigned) == (4, 1)
    assert [o.id for o in board.waiting] == [observations[2].id, observations[3].id]
    assert (board.eligible_submitted, board.eligible) == (3, 5)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_dashboard(db, client, small_round, make_user, role):
    round_, observations = small_round
    login(client, make_user(role))
    response = client.get(f"/moderation/rounds/{round_.id}/dashboard")
    assert response.status_code == (200 if role in (Role.ADMIN, Role.MODERATOR) else 403)
    if response.status_code == 200:
        page = response.get_data(as_text=True)
        assert "3 enti ammessi su 5 hanno inviato osservazioni (60%)" in page
        assert "50% (2 su 4)" in page and "25% (1 su 4)" in page
        assert page.count('<svg class="bar-chart"') == 5
        assert page.count('role="img"') >= 5
        # every chart's numbers are in its table
        zone_table = re.search(r'id="table-zone".*?</table>', page, re.S).group(0)
        assert "Zona Nord" in zone_table and ">3<" in zone_table
        assert observations[2].protocol_code in page  # waiting longest


def test_no_javascript_and_a_missing_round(db, client, small_round, moderator):
    round_, _observations = small_round
    login(client, moderator)
    page = client.get(f"/moderation/rounds/{round_.id}/dashboard").get_data(as_text=True)
    main = page.split("<main", 1)[-1].split("</main>", 1)[0]
    assert "<script" not in main
    assert client.get("/moderation/rounds/999999/dashboard").status_code == 404


def test_statements_do_not_grow_with_the_round(
    db, client, make_round, make_comune, make_referent, make_observation, moderator
):
    login(client, moderator)
    counts = []
    for n in (3, 30):
        round_ = make_round()
        referents = [make_referent(make_comune()) for _ in range(3)]
        for i in range(n):
            make_observation(round_, referents[i % 3], title=f"Numero {i}")
        with count_statements(db.engine) as statements:
            response = client.get(f"/moderation/rounds/{round_.id}/dashboard")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 16, counts


def test_bars_scale_to_the_largest():
    chart = dashboard.bars([("a", 10), ("b", 5), ("c", 0)])
    assert [bar.width for bar in chart.bars] == [140, 70, 0]
    assert chart.height == 3 * dashboard.ROW and chart.total == 15
    assert dashboard.bars([]).bars == []
