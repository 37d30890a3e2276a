"""The open-data API: public and read-only for concluded rounds, cursor pagination with bounds,
ETag and If-None-Match, stable identifiers; nothing of a round still in progress."""

from __future__ import annotations

from app.decisions.models import Outcome
from app.rounds.models import RoundState
from tests.reports.conftest import decide, respond


def _conclude(db, scene):
    scene.round.state = RoundState.CONCLUDED
    db.session.commit()


def test_a_round_in_progress_is_not_there(db, client, scene):
    assert client.get("/api/v1/open/rounds").get_json()["rounds"] == []
    answer = client.get(f"/api/v1/open/rounds/{scene.round.id}/points")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_points_page_by_page_with_outcomes(db, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, "Non compatibile.", scene.editor)
    _conclude(db, scene)
    [listed] = client.get("/api/v1/open/rounds").get_json()["rounds"]
    assert listed["id"] == scene.round.id and listed["downloads"]["csv"].endswith("export.csv")
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/open/rounds/{scene.round.id}/points{query}").get_json()
        seen += page["points"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [row["protocol"] for row in seen] == [o.protocol_code for o in scene.observations]
    assert seen[0]["outcome"] == "not_accepted" and seen[0]["reasoning"] == "Non compatibile."
    assert "draft" not in seen[0]
    assert scene.referent.email not in str(seen)


def test_changes_with_the_points_that_link_them(db, client, scene, make_successor):
    change, _key = respond(db, make_successor, scene)
    _conclude(db, scene)
    [row] = client.get(f"/api/v1/open/rounds/{scene.round.id}/changes").get_json()["changes"]
    assert row["id"] == change.id and row["kind"] == "edited"
    assert row["points"] == [{"point": scene.points[0].label, "outcome": "accepted"}]
    assert any("piste ciclabili" in w["inserted"] for w in row["words"])
    assert len(row["paragraphs"]["old"]) == 1 and len(row["paragraphs"]["new"]) == 1


def test_etag_and_if_none_match(db, client, scene):
    _conclude(db, scene)
    path = f"/api/v1/open/rounds/{scene.round.id}"
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_bad_limits_and_cursors_are_clear_errors(db, client, scene):
    _conclude(db, scene)
    base = f"/api/v1/open/rounds/{scene.round.id}/points"
    for query, code in (
        ("?limit=0", "invalid_limit"),
        ("?limit=100000", "invalid_limit"),
        ("?limit=-1", "invalid_limit"),
        ("?cursor=%%%", "invalid_cursor"),
        ("?cursor=YWZ0ZXI6eA", "invalid_cursor"),  # "after:x"
    ):
        answer = client.get(base + query)
        assert answer.status_code == 400, query
        assert answer.get_json()["error"]["code"] == code, query
    assert client.get("/api/v1/open/rounds/99999999999999").status_code == 404


def test_too_many_requests_get_429_with_retry_after(db, app, client, scene):
    from app.core.ratelimit import limiter

    limiter.reset()
    app.config["OPEN_API_RATE_LIMIT_PER_MINUTE"] = 3
    try:
        answers = [client.get("/api/v1/open/rounds") for _ in range(4)]
    finally:
        app.config["OPEN_API_RATE_LIMIT_PER_MINUTE"] = 300
        limiter.reset()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
