"""The invitation life cycle, through the outbox worker and a real local SMTP server."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.operations import deliver_due
from app.stakeholders.models import Invitation, InvitationState, InvitationStatus
from tests.fixtures.factories import PASSWORD, csrf_token, login
from tests.fixtures.stakeholders import invitation_link

NEW_PASSWORD = "una passphrase nuova"


def _invite(client, organisation, email, name=""):
    path = f"/registry/organisations/{organisation.id}/invite"
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "email": email, "display_name": name})


def _accept(client, path, password=NEW_PASSWORD, name="Ada Referente"):
    token = csrf_token(client, path)
    data = {"csrf_token": token, "password": password, "confirm": password, "display_name": name}
    return client.post(path, data=data)


def _delivered_link(db, smtp, email) -> str:
    deliver_due(db.session)
    [message] = smtp.inbox.to(email)
    return invitation_link(smtp.inbox.text(message))


def _user(db, email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_invite_accept_and_log_in(app, db, smtp, staff_client, make_comune):
    client, _ = staff_client
    comune = make_comune("Comune di Rho", "015182")
    response = _invite(client, comune, "Ada@Comune-Rho.example.org", "Ada Referente")
    assert response.status_code == 302

    deliver_due(db.session)
    [message] = smtp.inbox.to("ada@comune-rho.example.org")
    assert "Comune di Rho" in message["Subject"]
    text = smtp.inbox.text(message)
    assert "Comune di Rho" in text and "14" in text  # the organisation and the validity
    path = invitation_link(text)
    assert path in smtp.inbox.html(message)
    stored = db.session.scalars(select(OutboxMessage)).one()
    assert stored.sensitive and path not in stored.body_text + stored.body_html  # erased

    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200 and "Comune di Rho" in page.get_data(as_text=True)
    assert _accept(visitor, path).status_code == 302

    user = _user(db, "ada@comune-rho.example.org")
    assert user.roles == {Role.STAKEHOLDER}
    assert user.organisation_id == comune.id and user.primary_referent
    assert user.display_name == "Ada Referente"
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.state == InvitationState.ACCEPTED and invitation.user_id == user.id
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"invitation.sent", "invitation.accepted", "user.created"} <= actions


def test_a_used_link_shows_a_clear_page_and_changes_nothing(
    app, db, smtp, staff_client, make_comune
):
    client, _ = staff_client
    comune = make_comune()
    _invite(client, comune, "once@example.org")
    path = _delivered_link(db, smtp, "once@example.org")
    assert _accept(app.test_client(), path).status_code == 302
    before = _user(db, "once@example.org").password_hash

    again = app.test_client()
    page = again.get(path)
    assert page.status_code == 410
    assert "già stato accettato" in page.get_data(as_text=True)
    assert _accept(again, path, password="another passphrase").status_code == 410
    assert _user(db, "once@example.org").password_hash == before


def test_an_expired_link_creates_no_account(app, db, smtp, staff_client, make_comune, config):
    client, _ = staff_client
    _invite(client, make_comune(), "late@example.org")
    path = _delivered_link(db, smtp, "late@example.org")
    later = utcnow() + timedelta(seconds=config["INVITATION_TTL"] + 60)
    with time_machine.travel(later, tick=False):
        visitor = app.test_client()
        page = visitor.get(path)
        assert page.status_code == 410 and "scaduto" in page.get_data(as_text=True)
        token = csrf_token(visitor, "/password/forgot")
        data = {"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert visitor.post(path, data={**data, "display_name": "Late"}).status_code == 410
        assert _user(db, "late@example.org") is None
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.status() == InvitationStatus.EXPIRED


def test_an_unknown_link_is_a_404_page(client):
    response = client.get("/invitation/not-a-real-token")
    assert response.status_code == 404
    assert "Nulla è stato modificato" in response.get_data(as_text=True)


def test_resend_voids_the_old_link(app, db, smtp, staff_client, make_comune):
    client, _ = staff_client
    comune = make_comune()
    _invite(client, comune, "twice@example.org")
    old = _delivered_link(db, smtp, "twice@example.org")
    smtp.inbox.clear()
    invitation = db.session.scalars(select(Invitation)).one()
    token = csrf_token(client, "/registry/invitations")
    response = client.post(
        f"/registry/invitations/{invitation.id}/resend", data={"csrf_token": token}
    )
    assert response.status_code == 302
    new = _delivered_link(db, smtp, "twice@example.org")
    assert new != old
    assert app.test_client().get(old).status_code == 404
    assert _accept(app.test_client(), new).status_code == 302
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).send_count == 2


def test_inviting_the_same_address_again_resends(db, smtp, staff_client, make_comune):
    client, _ = staff_client
    comune = make_comune()
    _invite(client, comune, "again@example.org")
    _invite(client, comune, "again@example.org")
    assert db.session.scalar(select(func.count(Invitation.id))) == 1
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2


def test_revoke(app, db, smtp, staff_client, make_comune):
    client, _ = staff_client
    _invite(client, make_comune(), "nope@example.org")
    path = _delivered_link(db, smtp, "nope@example.org")
    invitation = db.session.scalars(select(Invitation)).one()
    token = csrf_token(client, "/registry/invitations")
    client.post(f"/registry/invitations/{invitation.id}/revoke", data={"csrf_token": token})
    page = app.test_client().get(path)
    assert page.status_code == 410 and "ritirato" in page.get_data(as_text=True)
    assert _user(db, "nope@example.org") is None
    # a revoked invitation cannot be resent or revoked again
    response = client.post(
        f"/registry/invitations/{invitation.id}/resend", data={"csrf_token": token}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).state == InvitationState.REVOKED
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_an_existing_account_is_linked(app, db, smtp, staff_client, make_comune, make_user):
    client, _ = staff_client
    comune = make_comune()
    editor = make_user(Role.EDITOR, email="already@example.org")
    _invite(client, comune, "already@example.org")
    path = _delivered_link(db, smtp, "already@example.org")
    page = app.test_client().get(path).get_data(as_text=True)
    assert 'name="display_name"' not in page  # they have a name already
    assert _accept(app.test_client(), path, name="").status_code == 302
    user = _user(db, "already@example.org")
    assert user.id == editor.id
    assert user.organisation_id == comune.id
    assert user.roles == {Role.EDITOR, Role.STAKEHOLDER}
    assert login(app.test_client(), user.email, PASSWORD).status_code == 401
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_a_deactivated_account_cannot_be_invited(db, staff_client, make_comune, make_user):
    client, _ = staff_client
    comune = make_comune()
    make_user(Role.ADMIN, email="former-admin@example.org", active=False)
    response = _invite(client, comune, "former-admin@example.org")
    assert response.status_code == 200
    assert "disattivato" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_accepting_never_reactivates_an_account(
    app, db, smtp, staff_client, make_comune, make_user
):
    """Issue 11, finding 2: a moderator's invitation brought a deactivated admin back."""
    client, _ = staff_client
    comune = make_comune()
    admin = make_user(Role.ADMIN, email="admin2@example.org")
    _invite(client, comune, "admin2@example.org")
    path = _delivered_link(db, smtp, "admin2@example.org")
    admin.active = False  # an administrator deactivates the account meanwhile
    db.session.commit()

    visitor = app.test_client()
    response = _accept(visitor, path, name="")
    assert response.status_code == 200
    assert "disattivato" in response.get_data(as_text=True)
    user = _user(db, "admin2@example.org")
    assert not user.active and user.organisation_id is None
    assert user.roles == {Role.ADMIN}
    assert db.session.scalars(select(Invitation)).one().state == InvitationState.PENDING
    assert login(visitor, user.email, NEW_PASSWORD).status_code == 401
    assert visitor.get("/admin/users/").status_code == 302  # to the login page


def test_bulk_invitations_skip_a_deactivated_account(db, make_comune, make_user):
    from app.stakeholders.operations import Channel, bulk_invite

    comune = make_comune(email="gone@example.org")
    make_user(Role.EDITOR, email="gone@example.org", active=False)
    plan = bulk_invite(db.session, [comune], Channel.EMAIL, actor=None, apply=True)
    [row] = plan.skipped
    assert "disattivato" in str(row.skipped)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_a_returning_referent_is_reactivated_by_an_admin_not_by_an_invitation(
    app, db, staff_client, make_comune, make_user
):
    client, _ = staff_client
    comune = make_comune()
    back = make_user(email="back@example.org", organisation=comune, active=False)
    assert _invite(client, comune, "back@example.org").status_code == 200  # refused
    admin = make_user(Role.ADMIN)
    admin_client = app.test_client()
    assert login(admin_client, admin).status_code == 302
    token = csrf_token(admin_client, f"/admin/users/{back.id}")
    response = admin_client.post(
        f"/admin/users/{back.id}/active", data={"csrf_token": token, "active": "1"}
    )
    assert response.status_code == 302
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.activated")
    ).one()
    assert entry.actor_id == admin.id and entry.object_id == str(back.id)
    user = _user(db, "back@example.org")
    assert user.active and user.organisation_id == comune.id
    assert login(app.test_client(), user.email, PASSWORD).status_code == 302


def test_the_registry_cannot_reactivate_a_referent_who_holds_a_staff_role(
    db, staff_client, make_comune, make_user
):
    client, _ = staff_client
    comune = make_comune()
    former = make_user(Role.ADMIN, Role.STAKEHOLDER, organisation=comune, active=False)
    path = f"/registry/organisations/{comune.id}"
    token = csrf_token(client, path)
    client.post(f"{path}/referents/{former.id}/active", data={"csrf_token": token, "active": "1"})
    db.session.expire_all()
    assert not db.session.get(User, former.id).active
    plain = make_user(Role.STAKEHOLDER, organisation=comune, active=False)
    client.post(f"{path}/referents/{plain.id}/active", data={"csrf_token": token, "active": "1"})
    db.session.expire_all()
    assert db.session.get(User, plain.id).active  # a plain referent: the registry's to decide


def test_a_referent_of_another_organisation_cannot_be_invited(
    db, staff_client, make_comune, make_user
):
    client, _ = staff_client
    make_user(email="taken@example.org", organisation=make_comune("Comune di Arese"))
    other = make_comune()
    response = _invite(client, other, "taken@example.org")
    assert response.status_code == 200
    assert "Comune di Arese" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_a_malformed_address_is_refused(db, staff_client, make_comune):
    client, _ = staff_client
    response = _invite(client, make_comune(), "not an address")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_a_refused_recipient_shows_as_bounced(db, smtp, staff_client, make_comune):
    from aiosmtpd.smtp import SMTP as _SMTP  # noqa: F401 - the handler API below

    async def refuse(server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp.inbox.handle_RCPT = refuse
    try:
        client, _ = staff_client
        _invite(client, make_comune(), "bounce@example.org")
        deliver_due(db.session)
    finally:
        del smtp.inbox.handle_RCPT
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.status == OutboxStatus.FAILED
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.status() == InvitationStatus.BOUNCED
    page = client.get("/registry/invitations?status=bounced").get_data(as_text=True)
    assert "bounce@example.org" in page and "Non recapitato" in page
    assert "bounce@example.org" not in client.get("/registry/invitations?status=invited").get_data(
        as_text=True
    )


def test_the_invitations_page_shows_each_status(db, staff_client, make_comune, make_invitation):
    client, _ = staff_client
    comune = make_comune()
    pending = make_invitation(comune, "pending@example.org")
    revoked = make_invitation(comune, "revoked@example.org")
    expired = make_invitation(comune, "expired@example.org")
    revoked.revoke()
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for status, shown in (("invited", pending), ("revoked", revoked), ("expired", expired)):
        page = client.get(f"/registry/invitations?status={status}").get_data(as_text=True)
        for invitation in (pending, revoked, expired):
            assert (invitation.email in page) == (invitation is shown), (status, invitation)
    page = client.get("/registry/invitations").get_data(as_text=True)
    assert all(label in page for label in ("Invitato", "Revocato", "Scaduto"))
