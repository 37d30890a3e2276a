"""Every registry route by every role, GET and POST: staff who manage the registry are
administrators and moderators; editors and stakeholders are refused; anonymous visitors log in."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from tests.fixtures.factories import csrf_token, login

ROLES = [None, Role.STAKEHOLDER, Role.EDITOR, Role.MODERATOR, Role.ADMIN]
ALLOWED = {Role.MODERATOR, Role.ADMIN}

#: (method, path); {o} organisation, {u} its referent, {i} invitation, {z} zone, {g} group.
ROUTES = [
    ("GET", "/registry/"),
    ("GET", "/registry/organisations/new"),
    ("POST", "/registry/organisations/new"),
    ("GET", "/registry/organisations/{o}"),
    ("GET", "/registry/organisations/{o}/edit"),
    ("POST", "/registry/organisations/{o}/edit"),
    ("GET", "/registry/organisations/{o}/invite"),
    ("POST", "/registry/organisations/{o}/invite"),
    ("POST", "/registry/organisations/{o}/referents/{u}/primary"),
    ("POST", "/registry/organisations/{o}/referents/{u}/active"),
    ("GET", "/registry/invitations"),
    ("POST", "/registry/invitations/{i}/resend"),
    ("POST", "/registry/invitations/{i}/revoke"),
    ("GET", "/registry/invitations/bulk"),
    ("POST", "/registry/invitations/bulk"),
    ("GET", "/registry/zones"),
    ("GET", "/registry/zones/new"),
    ("POST", "/registry/zones/new"),
    ("GET", "/registry/zones/{z}"),
    ("POST", "/registry/zones/{z}"),
    ("GET", "/registry/groups"),
    ("GET", "/registry/groups/new"),
    ("POST", "/registry/groups/new"),
    ("GET", "/registry/groups/{g}"),
    ("POST", "/registry/groups/{g}"),
    ("GET", "/registry/import/zones"),
    ("POST", "/registry/import/zones"),
    ("GET", "/registry/import/organisations"),
    ("POST", "/registry/import/organisations"),
]


def test_the_matrix_covers_every_registry_route(app):
    import re

    covered = {(method, re.sub(r"\{\w\}", "<>", path)) for method, path in ROUTES}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("stakeholders.") or not rule.rule.startswith("/registry"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, re.sub(r"<[^>]+>", "<>", rule.rule)) in covered, (method, rule.rule)


@pytest.fixture
def objects(db, make_comune, make_user, make_zone, make_group, make_invitation):
    organisation = make_comune()
    referent = make_user(Role.STAKEHOLDER, organisation=organisation)
    return {
        "o": organisation.id,
        "u": referent.id,
        "i": make_invitation(organisation).id,
        "z": make_zone().id,
        "g": make_group().id,
    }


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_registry_permission_matrix(client, logged_in, objects, role):
    if role is not None:
        client, _ = logged_in(role)
        token = csrf_token(client, "/account/password")
    else:
        token = csrf_token(client, "/login")
    for method, template in ROUTES:
        path = template.format(**objects)
        if method == "GET":
            response = client.get(path)
        else:
            # An empty but valid form: the permission answers before any validation.
            response = client.post(path, data={"csrf_token": token})
        if role is None:
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/login"), (method, path)
        elif role in ALLOWED:
            assert response.status_code in (200, 302, 422), (method, path, response.status_code)
        else:
            assert response.status_code == 403, (method, path, role)


def test_the_registry_link_shows_for_staff_who_manage_it_only(app, make_user):
    for role, shown in ((Role.EDITOR, False), (Role.STAKEHOLDER, False), (Role.MODERATOR, True)):
        browser = app.test_client()
        login(browser, make_user(role))
        assert ('href="/registry/"' in browser.get("/").get_data(as_text=True)) is shown, role
