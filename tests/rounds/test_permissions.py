"""Every round and observation page by every role, GET and POST."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from tests.fixtures.factories import csrf_token, login

ROLES = ["anonymous", "eligible referent", "other referent", "moderator", "editor", "admin"]

#: What each role gets on GET: status code (302 to the login page for anonymous).
GET_EXPECTED = {
    "/rounds/": {"anonymous": 302, "default": 200},
    "/rounds/new": {"anonymous": 302, "moderator": 200, "admin": 200, "default": 403},
    "/rounds/{round}/": {"anonymous": 302, "default": 200},
    "/rounds/{round}/edit": {"anonymous": 302, "moderator": 200, "admin": 200, "default": 403},
    "/rounds/{round}/s/{section}": {"anonymous": 302, "default": 200},
    "/rounds/{round}/observations/new": {
        "anonymous": 302,
        "eligible referent": 200,
        "default": 403,
    },
    "/rounds/{round}/intake": {"anonymous": 302, "moderator": 200, "admin": 200, "default": 403},
    "/observations/mine": {"anonymous": 302, "default": 200},
    "/observations/{observation}/": {
        "anonymous": 302,
        "eligible referent": 200,
        "moderator": 200,
        "editor": 200,
        "admin": 200,
        "default": 404,
    },
    "/track": {"default": 200},
}

POST_EXPECTED = {
    "/rounds/{round}/state": {"anonymous": 400, "moderator": 302, "admin": 302, "default": 403},
    "/observations/{observation}/withdraw": {
        "anonymous": 400,
        "eligible referent": 302,
        "moderator": 403,
        "editor": 403,
        "admin": 403,
        "default": 404,
    },
}


@pytest.fixture
def world(db, make_round, make_comune, make_referent, make_user, make_observation):
    round_ = make_round()
    comune = make_comune()
    author = make_referent(comune)
    from app.plans.tree import load_tree

    section = next(load_tree(db.session, round_.version).walk()).section
    draft = make_observation(round_, author, title="T")
    from app.stakeholders.models import OrganisationKind

    users = {
        "eligible referent": author,
        "other referent": make_referent(make_comune(kind=OrganisationKind.SINDACATO)),
        "moderator": make_user(Role.MODERATOR),
        "editor": make_user(Role.EDITOR),
        "admin": make_user(Role.ADMIN),
    }
    return {"round": round_.id, "section": section.key, "observation": draft.id}, users


def _client(app, users, role):
    client = app.test_client()
    if role != "anonymous":
        assert login(client, users[role]).status_code == 302
    return client


@pytest.mark.parametrize("role", ROLES)
def test_get_matrix(app, world, role):
    ids, users = world
    client = _client(app, users, role)
    for path, expected in GET_EXPECTED.items():
        status = client.get(path.format(**ids)).status_code
        assert status == expected.get(role, expected["default"]), (path, role, status)


@pytest.mark.parametrize("role", ROLES)
def test_post_matrix(app, world, role):
    ids, users = world
    client = _client(app, users, role)
    for path, expected in POST_EXPECTED.items():
        data = {"action": "close", "reason": "", "confirmed": "1"}
        if role != "anonymous":
            data["csrf_token"] = csrf_token(client, "/observations/mine")
        status = client.post(path.format(**ids), data=data).status_code
        assert status == expected.get(role, expected["default"]), (path, role, status)


@pytest.mark.parametrize("role", ["eligible referent", "editor"])
def test_a_stranger_cannot_tell_a_round_that_exists_from_one_that_does_not(
    app, db, world, make_round, role
):
    """The role is checked before the round is looked up (403 whether it exists or not), and
    a round the user may not see answers like one that is not there (404)."""
    from app.rounds.models import RoundState

    ids, users = world
    draft = make_round(state=RoundState.DRAFT).id
    client = _client(app, users, role)
    token = csrf_token(client, "/observations/mine")
    for path in ("/rounds/{}/edit", "/rounds/{}/intake"):
        statuses = {client.get(path.format(n)).status_code for n in (ids["round"], draft, 999999)}
        assert statuses == {403}, path
    posted = {
        client.post(f"/rounds/{n}/state", data={"action": "close", "csrf_token": token}).status_code
        for n in (ids["round"], 999999)
    }
    assert posted == {403}
    if role == "eligible referent":  # staff see draft rounds; stakeholders do not
        for path in ("/rounds/{}/", "/rounds/{}/observations/new"):
            assert client.get(path.format(draft)).status_code == 404, path
            assert client.get(path.format(999999)).status_code == 404, path


def test_an_observation_that_is_not_yours_answers_like_one_that_does_not_exist(app, world):
    ids, users = world
    client = _client(app, users, "other referent")
    token = csrf_token(client, "/observations/mine")
    for number in (ids["observation"], 999999):
        assert client.get(f"/observations/{number}/").status_code == 404
        assert client.get(f"/observations/{number}/edit").status_code == 404
        response = client.post(f"/observations/{number}/withdraw", data={"csrf_token": token})
        assert response.status_code == 404
