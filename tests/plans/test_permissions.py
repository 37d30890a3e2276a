"""Every plan route, for every role, GET and POST."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.plans import operations
from app.plans.models import Audience, VersionStatus
from app.plans.permissions import can_edit_version, can_read_version, can_see_plan
from app.plans.tree import load_tree
from tests.fixtures.factories import login

ROLES = ("anonymous", Role.STAKEHOLDER, Role.MODERATOR, Role.EDITOR, Role.ADMIN)

READ = "read"  # everyone may
STAFF = "staff"  # drafts: staff only
EDIT = "edit"  # plan editors and administrators

ROUTES = [
    ("GET", "/plans/", READ),
    ("GET", "/plans/{slug}/", READ),
    ("GET", "/plans/{slug}/v1/", READ),
    ("GET", "/plans/{slug}/v1/s/{s1}", READ),
    ("GET", "/plans/{slug}/v1/p/{p1}", READ),
    ("GET", "/plans/{slug}/diff?old=1&new=1", READ),
    ("GET", "/plans/{slug}/v2/", STAFF),
    ("GET", "/plans/{slug}/v2/s/{s2}", STAFF),
    ("GET", "/plans/{slug}/v2/p/{p2}", STAFF),
    ("GET", "/plans/new", EDIT),
    ("POST", "/plans/new", EDIT),
    ("GET", "/plans/{slug}/settings", EDIT),
    ("POST", "/plans/{slug}/settings", EDIT),
    ("GET", "/plans/{slug}/import", EDIT),
    ("POST", "/plans/{slug}/import", EDIT),
    ("GET", "/plans/{slug}/import/{import_id}", EDIT),
    ("POST", "/plans/{slug}/import/{import_id}", EDIT),
    ("POST", "/plans/{slug}/v2/successor", EDIT),
    ("POST", "/plans/{slug}/v2/state", EDIT),
    ("GET", "/plans/{slug}/v2/edit", EDIT),
    ("POST", "/plans/{slug}/v2/edit/sections", EDIT),
    ("GET", "/plans/{slug}/v2/edit/s/{s2}", EDIT),
    ("POST", "/plans/{slug}/v2/edit/s/{s2}", EDIT),
    ("POST", "/plans/{slug}/v2/edit/s/{s2}/action", EDIT),
    ("POST", "/plans/{slug}/v2/edit/s/{s2}/paragraphs", EDIT),
    ("GET", "/plans/{slug}/v2/edit/p/{p2}", EDIT),
    ("POST", "/plans/{slug}/v2/edit/p/{p2}", EDIT),
    ("GET", "/plans/{slug}/v2/edit/p/{p2}/split", EDIT),
    ("POST", "/plans/{slug}/v2/edit/p/{p2}/split", EDIT),
    ("POST", "/plans/{slug}/v2/edit/p/{p2}/action", EDIT),
]


@pytest.fixture
def world(db, make_user, make_version, make_successor):
    first = make_version(status=VersionStatus.FROZEN)
    second = make_successor(first)
    editor = make_user(Role.EDITOR)
    plan_import = operations.start_import(
        db.session,
        first.plan,
        data=b"# 1 Titolo\n\nTesto.\n",
        filename="a.md",
        label="Prova",
        predecessor=None,
        max_bytes=1_000_000,
        actor=editor,
    )
    db.session.commit()
    tree1, tree2 = load_tree(db.session, first), load_tree(db.session, second)
    return {
        "slug": first.plan.slug,
        "s1": tree1.roots[0].section.key,
        "p1": next(tree1.paragraphs())[1].key,
        "s2": tree2.roots[0].section.key,
        "p2": next(tree2.paragraphs())[1].key,
        "import_id": plan_import.id,
    }


def _allowed(rule: str, role) -> bool:
    if rule == READ:
        return True
    if role == "anonymous":
        return False
    if rule == STAFF:
        return role in (Role.MODERATOR, Role.EDITOR, Role.ADMIN)
    return role in (Role.EDITOR, Role.ADMIN)


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize(("method", "path", "rule"), ROUTES, ids=lambda v: str(v))
def test_permission_matrix(client, make_user, world, config, role, method, path, rule):
    config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests: here only permissions count
    if role != "anonymous":
        assert login(client, make_user(role)).status_code == 302
    response = client.open(path.format(**world), method=method, data={})
    location = response.headers.get("Location", "")
    if _allowed(rule, role):
        assert response.status_code < 500
        assert response.status_code != 403
        assert not location.startswith("/login")
        if method == "GET" and "/p/" not in path:
            assert response.status_code in (200, 400)
    elif role == "anonymous":
        assert response.status_code == 302 and location.startswith("/login?next=")
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    ("audience", "anonymous", "stakeholder"),
    [
        (Audience.PUBLIC, True, True),
        (Audience.REGISTERED, False, True),
        (Audience.STAFF, False, False),
    ],
)
def test_the_plan_audience_decides_who_reads_fixed_versions(
    db, make_plan, make_version, make_user, audience, anonymous, stakeholder
):
    from flask_login import AnonymousUserMixin

    plan = make_plan(audience=audience)
    frozen = make_version(plan=plan, status=VersionStatus.FROZEN)
    stakeholder_user = make_user(Role.STAKEHOLDER)
    moderator = make_user(Role.MODERATOR)
    assert can_read_version(AnonymousUserMixin(), frozen) is anonymous
    assert can_see_plan(AnonymousUserMixin(), plan) is anonymous
    assert can_read_version(stakeholder_user, frozen) is stakeholder
    assert can_read_version(moderator, frozen) is True
    assert can_edit_version(make_user(Role.EDITOR), frozen) is False


def test_a_staff_only_plan_is_refused_to_others(client, make_plan, make_version, make_user):
    plan = make_plan(audience=Audience.STAFF)
    make_version(plan=plan, status=VersionStatus.FROZEN)
    assert client.get(f"/plans/{plan.slug}/v1/").status_code == 302
    assert plan.title not in client.get("/plans/").get_data(as_text=True)
    login(client, make_user(Role.STAKEHOLDER))
    assert client.get(f"/plans/{plan.slug}/v1/").status_code == 403
    assert client.get(f"/plans/{plan.slug}/").status_code == 403
