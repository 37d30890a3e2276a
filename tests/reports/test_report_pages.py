"""The report by observation, its permalinks and statistics: a draft for staff until the round
is concluded, then public; filters; what it shows of each point; bounded statements."""

from __future__ import annotations

from app.accounts.models import Role
from app.decisions.models import Outcome
from app.rounds.models import RoundState
from tests.fixtures.factories import login
from tests.moderation.test_queue import count_statements
from tests.reports.conftest import decide

REASONING = "Non compatibile col bilancio triennale."


def _paths(scene):
    base = f"/reports/rounds/{scene.round.id}"
    number = scene.observations[0].protocol_number
    return [f"{base}/", f"{base}/observations/{number}", f"{base}/statistics"]


def _conclude(db, round_):
    round_.state = (
        RoundState.CONCLUDED
    )  # (the conclusion itself is the rounds' and decisions' test)
    db.session.commit()


def test_a_draft_report_is_for_staff_and_says_so(db, app, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    for path in _paths(scene):
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], path
    login(client, scene.referent)
    for path in _paths(scene):
        assert client.get(path).status_code == 403, path
    client = app.test_client()
    login(client, scene.moderator)
    for path in _paths(scene):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "BOZZA" in page.get_data(as_text=True), path


def test_once_concluded_it_is_public_and_no_longer_a_draft(db, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    _conclude(db, scene.round)
    for path in _paths(scene):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "BOZZA" not in page.get_data(as_text=True), path


def test_a_round_not_yet_open_has_no_report(db, client, make_round, make_user):
    round_ = make_round(state=RoundState.DRAFT)
    login(client, make_user(Role.ADMIN))
    assert client.get(f"/reports/rounds/{round_.id}/").status_code == 404


def test_each_observation_with_its_points_outcomes_and_reasons(db, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    login(client, scene.moderator)
    page = client.get(f"/reports/rounds/{scene.round.id}/").get_data(as_text=True)
    for observation in scene.observations:
        assert observation.protocol_code in page
    assert "Comune di Rho" in page and "Nord Ovest" in page and "Tavolo metropolitano" in page
    assert "Politecnico" in page
    assert "non accolta" in page and REASONING in page
    assert "Non ammissibile" in page and "Non riguarda il piano." in page
    assert "Non ancora decisa" in page
    # the open round does not publish its observations: no body text in the report
    assert "piste ciclabili" not in page
    assert scene.referent.display_name not in page  # no consent to show the name


def test_the_filters(db, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    decide(scene.points[1], Outcome.NOT_RELEVANT, "Fuori tema.", scene.editor)
    login(client, scene.moderator)
    base = f"/reports/rounds/{scene.round.id}/"
    codes = [o.protocol_code for o in scene.observations]

    def shown(query):
        page = client.get(base + query).get_data(as_text=True)
        return [code for code in codes if f">{code}</a>" in page]

    assert shown("") == codes
    assert shown("?outcome=not_accepted") == [codes[0]]
    assert shown("?outcome=undecided") == [codes[3]]
    assert shown(f"?section={scene.points[0].section_id}") == [codes[0]]
    assert shown("?kind=universita") == [codes[1], codes[3]]
    assert shown("?outcome=bogus&section=99999999999999&zone=-1&kind=x") == codes


def test_the_permalink_of_one_observation(db, client, scene):
    login(client, scene.moderator)
    base = f"/reports/rounds/{scene.round.id}/observations"
    page = client.get(f"{base}/{scene.observations[1].protocol_number}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert scene.observations[1].protocol_code in text
    assert scene.observations[0].protocol_code not in text
    assert client.get(f"{base}/999999").status_code == 404
    assert client.get(f"{base}/99999999999999999999").status_code == 404


def test_the_statistics_page_shows_the_tables(db, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    login(client, scene.moderator)
    page = client.get(f"/reports/rounds/{scene.round.id}/statistics").get_data(as_text=True)
    assert 'id="total-observations">4<' in page
    assert 'id="total-not-admissible">1<' in page
    for table in ("outcome", "kind", "group", "zone", "area", "channel"):
        assert f'id="table-{table}"' in page
    assert "<svg" in page and "Nord Ovest" in page


def test_pages_cost_the_same_statements_whatever_the_round(db, client, scene, make_observation):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    login(client, scene.moderator)
    paths = _paths(scene)
    client.get(paths[0])  # the frozen text read once

    def counts():
        out = {}
        for path in paths:
            with count_statements(db.engine) as statements:
                assert client.get(path).status_code == 200
            out[path] = len(statements)
        return out

    before = counts()
    for i in range(8):
        make_observation(scene.round, scene.referent, body_html=f"<p>Altro {i}</p>")
    after = counts()
    assert after == before, (before, after)


def test_the_plan_page_lists_the_reports_each_reader_may_open(db, app, client, scene):
    path = f"/plans/{scene.round.version.plan.slug}/"
    report = f"/reports/rounds/{scene.round.id}/"
    assert report not in client.get(path).get_data(as_text=True)  # a draft: not for the public
    staff = app.test_client()
    login(staff, scene.moderator)
    page = staff.get(path).get_data(as_text=True)
    assert report in page and "rapporto in bozza" in page
    _conclude(db, scene.round)
    page = client.get(path).get_data(as_text=True)
    assert report in page and f"/reports/rounds/{scene.round.id}/export.csv" in page


def test_every_role_on_a_draft_and_on_a_concluded_report(db, app, scene, make_user):
    """Staff (administrator, moderator, editor) read the draft; a citizen and a referent are
    refused until the round is concluded, then read it too; the ODS stays staff-only."""
    from app.accounts.models import Role

    base = f"/reports/rounds/{scene.round.id}"
    paths = [*_paths(scene), f"{base}/sections/", f"{base}/export.csv"]
    users = {
        "admin": make_user(Role.ADMIN),
        "moderator": scene.moderator,
        "editor": scene.editor,
        "citizen": make_user(Role.CITIZEN),
        "referent": scene.referent,
    }
    clients = {}
    for name, user in users.items():
        clients[name] = app.test_client()
        login(clients[name], user)

    def codes(path):
        return {name: client.get(path).status_code for name, client in clients.items()}

    for path in paths:
        assert codes(path) == {
            "admin": 200,
            "moderator": 200,
            "editor": 200,
            "citizen": 403,
            "referent": 403,
        }, path
    _conclude(db, scene.round)
    for path in paths:
        assert set(codes(path).values()) == {200}, path
    assert codes(f"{base}/export.ods") == {
        "admin": 200,
        "moderator": 200,
        "editor": 200,
        "citizen": 403,
        "referent": 403,
    }


def test_markup_in_names_and_reasonings_is_shown_as_text(db, client, scene):
    scene.comune.name = "<b>Rho</b>"
    db.session.commit()
    decide(scene.points[0], Outcome.NOT_ACCEPTED, "<script>alert(1)</script>", scene.editor)
    login(client, scene.moderator)
    for path in _paths(scene)[:2]:
        page = client.get(path).get_data(as_text=True)
        assert "<b>Rho</b>" not in page and "&lt;b&gt;Rho&lt;/b&gt;" in page, path
        assert "<script>alert(1)</script>" not in page, path
