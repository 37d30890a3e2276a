from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role, User
from app.core.audit import AuditEntry
from app.notifications.models import OutboxMessage
from tests.fixtures.factories import csrf_token, login

ADMIN_PAGES = ["/admin/users/", "/admin/users/new", "/admin/users/{id}"]
ADMIN_POSTS = [
    "/admin/users/new",
    "/admin/users/{id}",
    "/admin/users/{id}/active",
    "/admin/users/{id}/password-link",
]


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.MODERATOR, Role.EDITOR])
def test_only_admins_reach_the_user_pages(logged_in, make_user, role):
    target = make_user()
    client, _ = logged_in(role)
    token = csrf_token(client, "/account/password")
    for page in ADMIN_PAGES:
        assert client.get(page.format(id=target.id)).status_code == 403, page
    for page in ADMIN_POSTS:
        response = client.post(page.format(id=target.id), data={"csrf_token": token})
        assert response.status_code == 403, page


def test_admin_reaches_the_user_pages(logged_in, make_user):
    target = make_user()
    client, _ = logged_in(Role.ADMIN)
    for page in ADMIN_PAGES:
        assert client.get(page.format(id=target.id)).status_code == 200, page


def test_anonymous_is_sent_to_login(client, make_user):
    target = make_user()
    for page in ADMIN_PAGES:
        response = client.get(page.format(id=target.id))
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def _create(client, **fields):
    token = csrf_token(client, "/admin/users/new")
    data = {"csrf_token": token, "organisation_id": "0", **fields}
    return client.post("/admin/users/new", data=data)


def test_admin_creates_a_user_who_gets_a_link(logged_in, db, make_organisation):
    client, admin = logged_in(Role.ADMIN)
    organisation = make_organisation("Comune di Legnano")
    response = _create(
        client,
        email="New.Referent@Legnano.example",
        display_name="Nuova Referente",
        roles=["stakeholder"],
        organisation_id=str(organisation.id),
    )
    assert response.status_code == 302
    user = db.session.scalars(
        select(User).where(User.email == "new.referent@legnano.example")
    ).one()
    assert user.roles == {Role.STAKEHOLDER}
    assert user.organisation_id == organisation.id
    assert user.password_hash is None
    mail = db.session.scalars(select(OutboxMessage)).one()
    assert mail.recipient == user.email and mail.sensitive
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "user.created", AuditEntry.object_id == str(user.id)
        )
    ).one()
    assert entry.actor_id == admin.id and entry.object_id == str(user.id)


def test_duplicate_email_is_refused_whatever_the_case(logged_in, db, make_user):
    client, _ = logged_in(Role.ADMIN)
    make_user(Role.EDITOR, email="taken@example.org")
    response = _create(client, email="TAKEN@example.org", display_name="Someone", roles=["editor"])
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.display_name == "Someone")) is None


def test_a_stakeholder_needs_an_organisation(logged_in, db):
    client, _ = logged_in(Role.ADMIN)
    response = _create(client, email="x@example.org", display_name="X", roles=["stakeholder"])
    assert response.status_code == 200
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_a_forged_organisation_id_is_refused(logged_in, db):
    client, _ = logged_in(Role.ADMIN)
    response = _create(
        client,
        email="x@example.org",
        display_name="X",
        roles=["stakeholder"],
        organisation_id="999999",
    )
    assert response.status_code == 200  # not a valid choice: the form says so
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_role_change_is_audited(logged_in, db, make_user):
    client, admin = logged_in(Role.ADMIN)
    target = make_user(Role.MODERATOR)
    token = csrf_token(client, f"/admin/users/{target.id}")
    response = client.post(
        f"/admin/users/{target.id}",
        data={
            "csrf_token": token,
            "display_name": target.display_name,
            "roles": ["moderator", "editor"],
            "organisation_id": "0",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == {Role.MODERATOR, Role.EDITOR}
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.roles_changed")
    ).one()
    assert entry.details == {"before": ["moderator"], "after": ["editor", "moderator"]}
    assert entry.actor_id == admin.id


def test_deactivation_ends_the_users_sessions_and_logins(app, logged_in, db, make_user):
    client, _ = logged_in(Role.ADMIN)
    target = make_user()
    their_browser = app.test_client()
    login(their_browser, target)
    token = csrf_token(client, f"/admin/users/{target.id}")
    client.post(f"/admin/users/{target.id}/active", data={"csrf_token": token, "active": "0"})
    assert their_browser.get("/account/password").status_code == 302
    assert login(app.test_client(), target).status_code == 401
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False


def test_admin_cannot_deactivate_or_demote_themselves(logged_in, db):
    client, admin = logged_in(Role.ADMIN)
    token = csrf_token(client, f"/admin/users/{admin.id}")
    client.post(f"/admin/users/{admin.id}/active", data={"csrf_token": token, "active": "0"})
    client.post(
        f"/admin/users/{admin.id}",
        data={
            "csrf_token": token,
            "display_name": "Me",
            "roles": ["editor"],
            "organisation_id": "0",
        },
    )
    db.session.expire_all()
    me = db.session.get(User, admin.id)
    assert me.active and Role.ADMIN in me.roles


def test_user_list_paginates_and_searches(logged_in, make_user):
    client, _ = logged_in(Role.ADMIN)
    for number in range(55):
        make_user(Role.EDITOR, email=f"bulk{number:02d}@example.org", name=f"Bulk {number:02d}")
    first = client.get("/admin/users/").get_data(as_text=True)
    assert first.count("@example.org</td>") == 50
    second = client.get("/admin/users/?page=2").get_data(as_text=True)
    assert second.count("@example.org</td>") == 6  # 55 + the admin
    found = client.get("/admin/users/?q=BULK07").get_data(as_text=True)
    assert "bulk07@example.org" in found and "bulk08@example.org" not in found
    assert client.get("/admin/users/?q=%25").status_code == 200  # wildcards are literal
