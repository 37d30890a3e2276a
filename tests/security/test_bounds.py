"""Finding 6 of issue 11: input past a bound is a 404 or a 400/422 with a message, never a 500.

URL integers beyond the database's range (one converter for every route), ``?page=`` beyond
it (one place for every list), CR/LF in ``next``, and JSON that is nested too deep, never
closes, or carries lone surrogates or NUL characters (one check for the whole API).
"""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from app.accounts.models import Role
from tests.fixtures.factories import PASSWORD, csrf_token
from tests.fixtures.hostile import BIG_INTS, CRLF_NEXTS

LIST_PAGES = [
    "/admin/users/",
    "/admin/outbox/",
    "/admin/api-tokens/",
    "/observations/mine",
    "/rounds/",
    "/registry/",
    "/registry/invitations",
]


def _int_rules(app):
    """Every URL rule with an integer in it, with each method it answers."""
    for rule in app.url_map.iter_rules():
        names = [n for n, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if names:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, names, method


def _fill(rule, names, big: int, slug: str) -> str:
    path = rule.rule
    for name in rule.arguments:
        value = str(big) if name in names else (slug if name == "slug" else "x")
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, path)
    return path


def test_every_integer_url_argument_beyond_the_database_range_is_404(
    app, client, logged_in, make_plan
):
    logged_in(Role.ADMIN, Role.MODERATOR, Role.EDITOR)
    slug = make_plan().slug
    rules = list(_int_rules(app))
    assert len(rules) > 30  # every route with an <int:…>
    token = csrf_token(client, "/account/password")  # so that POSTs get past CSRF
    for rule, names, method in rules:
        for big in BIG_INTS:
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(_fill(rule, names, big, slug), method=method, data=data)
            assert response.status_code == 404, (rule.rule, method, big)


def test_a_big_plan_version_is_404_even_logged_out(client, make_plan):
    plan = make_plan()
    assert client.get(f"/plans/{plan.slug}/v99999999999999999999/").status_code == 404
    assert client.get(f"/plans/{plan.slug}/v{2**31 - 1}/").status_code == 404  # in range: none


@pytest.mark.parametrize("path", LIST_PAGES)
def test_a_page_number_beyond_the_range_is_404_and_garbage_is_page_one(client, logged_in, path):
    logged_in(Role.ADMIN, Role.MODERATOR)
    for big in BIG_INTS:
        assert client.get(f"{path}?page={big}").status_code == 404, (path, big)
    for garbage in ("abc", "0", "-3", ""):
        assert client.get(f"{path}?page={garbage}").status_code == 200, (path, garbage)
    assert client.get(f"{path}?page=2147483647").status_code == 200  # in range: an empty page


def _stays_here(response) -> bool:
    location = response.headers["Location"]
    return (
        response.status_code == 302
        and not any(char in location for char in "\r\n\x00")
        and location.startswith("/")
        and not location.startswith("//")
    )


@pytest.mark.parametrize("target", CRLF_NEXTS)
def test_cr_lf_in_next_never_reaches_a_header(client, make_user, target):
    """A NUL is refused outright (400); CR/LF send the user home instead of to ``next``."""
    user = make_user()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    if "\x00" in target:
        assert response.status_code == 400
        return
    assert _stays_here(response)
    assert "Set-Cookie: injected" not in str(response.headers)
    again = client.get("/login", query_string={"next": target})  # already logged in
    assert _stays_here(again)
    language = client.post(
        "/language", data={"lang": "en", "next": target, "csrf_token": csrf_token(client, "/")}
    )
    assert _stays_here(language)


def test_a_nul_character_in_a_form_is_refused(client, make_user):
    user = make_user()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": user.email + "\x00", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400
