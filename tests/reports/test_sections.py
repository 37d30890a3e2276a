"""The report by section: the changes that touch a section with the points that motivated
them, and the points on it that led to no change; an index with counts; bounded statements."""

from __future__ import annotations

from tests.fixtures.factories import login
from tests.moderation.test_queue import count_statements
from tests.reports.conftest import respond


def test_a_sections_changes_with_their_reasons_and_the_points_without_one(
    db, client, scene, make_successor
):
    change, key = respond(db, make_successor, scene)
    login(client, scene.moderator)
    page = client.get(f"/reports/rounds/{scene.round.id}/sections/{key}").get_data(as_text=True)
    changes, _, unchanged = page.partition("Punti su questa sezione")
    assert f'id="change-{change.id}"' in changes
    assert "<ins>" in changes and "piste ciclabili" in changes
    assert scene.points[0].label in changes and "accolta" in changes
    assert scene.points[1].label in unchanged and "non pertinente" in unchanged
    assert scene.points[0].label not in unchanged


def test_the_index_counts_points_and_changes_per_section(db, client, scene, make_successor):
    _change, key = respond(db, make_successor, scene)
    login(client, scene.moderator)
    page = client.get(f"/reports/rounds/{scene.round.id}/sections/").get_data(as_text=True)
    line = next(line for line in page.splitlines() if f"/sections/{key}" in line)
    assert "2 punti" in line and "1 modifica" in line


def test_an_unknown_section_is_not_found(db, client, scene):
    login(client, scene.moderator)
    assert client.get(f"/reports/rounds/{scene.round.id}/sections/zzzzzz").status_code == 404
    assert client.get(f"/reports/rounds/{scene.round.id}/sections/{'x' * 500}").status_code == 404


def test_a_sections_page_costs_the_same_statements_with_more_points(
    db, client, scene, make_successor, make_observation
):
    _change, key = respond(db, make_successor, scene)
    login(client, scene.moderator)
    paths = [
        f"/reports/rounds/{scene.round.id}/sections/{key}",
        f"/reports/rounds/{scene.round.id}/sections/",
    ]
    client.get(paths[0])

    def counts():
        out = []
        for path in paths:
            with count_statements(db.engine) as statements:
                assert client.get(path).status_code == 200
            out.append(len(statements))
        return out

    before = counts()
    section_id = scene.points[0].section_id
    for i in range(6):
        observation = make_observation(scene.round, scene.referent, body_html=f"<p>Altra {i}</p>")
        from tests.reports.conftest import _point, _triage

        _triage(observation, "admit", scene.moderator)
        point = _point(observation)
        point.target, point.section_id = "section", section_id
        db.session.commit()
    assert counts() == before
