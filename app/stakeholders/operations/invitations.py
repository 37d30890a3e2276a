"""Referents and their invitations: the main contact, deactivating, inviting one referent or
every organisation of a zone or group, resending, revoking, accepting."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.urls import absolute_url
from app.notifications.operations import queue_email
from app.stakeholders.models import Group, Invitation, InvitationState, Organisation, Zone
from app.stakeholders.operations.values import RegistryError, email_address


def _referent_of(organisation: Organisation, user: User) -> User:
    if user.organisation_id != organisation.id:
        raise RegistryError(_l("This person is not a referent of this organisation."))
    return user


def set_primary_referent(
    session: Session, organisation: Organisation, user: User, *, actor: User
) -> None:
    """Make ``user`` the organisation's main contact (the previous one stays a referent)."""
    _referent_of(organisation, user)
    if not user.active:
        raise RegistryError(_l("A deactivated referent cannot be the main contact."))
    if user.primary_referent:
        return
    previous = session.scalar(
        select(User).where(User.organisation_id == organisation.id, User.primary_referent)
    )
    if previous is not None:
        previous.primary_referent = False
        session.flush()  # the partial unique index allows one primary at a time
    user.primary_referent = True
    session.flush()
    record(
        session,
        "organisation.primary_referent_set",
        actor=actor,
        obj=organisation,
        user_id=user.id,
        previous_user_id=previous.id if previous else None,
    )


def set_referent_active(
    session: Session, organisation: Organisation, user: User, active: bool, *, actor: User
) -> None:
    """A referent who leaves is deactivated, never deleted: past submissions keep their author."""
    _referent_of(organisation, user)
    if (
        active
        and not user.active
        and user.has_role(*STAFF_ROLES)
        and not actor.has_role(Role.ADMIN)
    ):
        raise RegistryError(
            _l("This account also holds a staff role: only an administrator can reactivate it.")
        )
    try:
        accounts.set_active(session, user, active, actor=actor)
    except accounts.AccountError as error:
        raise RegistryError(error.message) from error


# Invitations -------------------------------------------------------------------------------


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, accounts.hash_token(raw)


def _expiry():
    return utcnow() + timedelta(seconds=current_app.config["INVITATION_TTL"])


def _send(session: Session, invitation: Invitation, raw: str, locale: str | None) -> None:
    ttl = current_app.config["INVITATION_TTL"]
    message = queue_email(
        session,
        to=invitation.email,
        template="stakeholders/email/invitation",
        context={
            "invitation": invitation,
            "organisation": invitation.organisation,
            "link": absolute_url("stakeholders.accept_invitation", token=raw),
            "days": max(1, ttl // 86400),
        },
        locale=locale,
        sensitive=True,
    )
    session.flush()
    invitation.outbox_message = message


DEACTIVATED_ACCOUNT = _l(
    "This address belongs to a deactivated account: an administrator must reactivate it "
    "before it can be invited."
)
STAFF_ROLES = frozenset({Role.ADMIN, Role.EDITOR, Role.MODERATOR})


def invitation_problem(
    session: Session, organisation: Organisation, email: str
) -> tuple[object | None, User | None]:
    """Why ``email`` cannot be invited for ``organisation`` (or None), and its account if any."""
    if not organisation.active:
        return _l("This organisation is deactivated."), None
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        return None, None
    if user.organisation_id is not None and user.organisation_id != organisation.id:
        return (
            _l(
                "This address belongs to a referent of %(name)s: deactivate that account or "
                "use another address.",
                name=user.organisation.name,
            ),
            user,
        )
    if not user.active:
        # Reactivating an account is an administrator's act (recorded as user.activated), not
        # something an invitation does: it could bring back roles an admin took away.
        return DEACTIVATED_ACCOUNT, user
    if user.organisation_id == organisation.id:
        return _l("This person is already a referent of this organisation."), user
    return None, user


def invite_referent(
    session: Session,
    organisation: Organisation,
    email: str,
    *,
    display_name: str | None = None,
    actor: User | None,
) -> Invitation:
    """Invite a person by e-mail to speak for ``organisation``; a pending one is resent."""
    address = email_address(email)
    if address is None:
        raise RegistryError(_l("This is not a valid e-mail address."), "email")
    problem, user = invitation_problem(session, organisation, address)
    if problem is not None:
        raise RegistryError(problem, "email")
    pending = session.scalar(
        select(Invitation).where(
            Invitation.organisation_id == organisation.id,
            Invitation.email == address,
            Invitation.state == InvitationState.PENDING,
        )
    )
    if pending is not None:
        if display_name and display_name.strip():
            pending.display_name = display_name.strip()
        resend_invitation(session, pending, actor=actor)
        return pending
    raw, hashed = _new_token()
    now = utcnow()
    invitation = Invitation(
        organisation=organisation,
        email=address,
        display_name=(display_name or "").strip() or None,
        state=InvitationState.PENDING,
        token_hash=hashed,
        created_at=now,
        sent_at=now,
        expires_at=_expiry(),
        send_count=1,
        invited_by=actor,
    )
    session.add(invitation)
    session.flush()
    _send(session, invitation, raw, user.locale if user else None)
    record(
        session,
        "invitation.sent",
        actor=actor,
        obj=invitation,
        organisation_id=organisation.id,
    )
    return invitation


def resend_invitation(session: Session, invitation: Invitation, *, actor: User | None) -> None:
    """A new link and a new e-mail; the previous link stops working."""
    if invitation.state != InvitationState.PENDING:
        raise RegistryError(_l("Only a pending invitation can be sent again."))
    problem, user = invitation_problem(session, invitation.organisation, invitation.email)
    if problem is not None:
        raise RegistryError(problem)
    raw, hashed = _new_token()
    invitation.renew(hashed, _expiry())
    _send(session, invitation, raw, user.locale if user else None)
    record(session, "invitation.resent", actor=actor, obj=invitation, count=invitation.send_count)


def revoke_invitation(session: Session, invitation: Invitation, *, actor: User) -> None:
    if invitation.state != InvitationState.PENDING:
        raise RegistryError(_l("Only a pending invitation can be revoked."))
    invitation.revoke()
    record(session, "invitation.revoked", actor=actor, obj=invitation)


def find_invitation(session: Session, raw: str) -> Invitation | None:
    """The invitation this token was issued for, in whatever state; None for an unknown token."""
    if not raw or len(raw) > 100:
        return None
    return session.scalar(
        select(Invitation).where(Invitation.token_hash == accounts.hash_token(raw))
    )


def accept_invitation(
    session: Session, raw: str, *, password: str, display_name: str | None
) -> User:
    """Make the invitee a referent: create their account, or link the one they have.

    Either way the password chosen here becomes the account's password (the link proves the
    mailbox, as a reset link does) and every other session of the account is signed out.
    """
    invitation = find_invitation(session, raw)
    if invitation is None or not invitation.is_usable():
        raise RegistryError(_l("This invitation is not valid any more."))
    organisation = invitation.organisation
    problem, user = invitation_problem(session, organisation, invitation.email)
    if problem is not None:
        raise RegistryError(problem)
    name = " ".join((display_name or invitation.display_name or "").split())
    if user is None:
        if not name:
            raise RegistryError(_l("Please give your name."), "display_name")
        try:
            user = accounts.create_user(
                session,
                email=invitation.email,
                display_name=name,
                roles={Role.STAKEHOLDER},
                organisation=organisation,
                password=password,
                send_welcome=False,
            )
        except accounts.AccountError as error:
            raise RegistryError(error.message, error.field) from error
    else:
        try:
            accounts.set_password(session, user, password)
        except accounts.AccountError as error:
            raise RegistryError(error.message, error.field) from error
        before = {"organisation_id": user.organisation_id}
        user.organisation = organisation
        user.set_roles(user.roles | {Role.STAKEHOLDER})
        session.flush()
        record(
            session,
            "user.linked_to_organisation",
            actor=user,
            obj=user,
            organisation_id=organisation.id,
            before=before,
        )
    invitation.accept(user)
    session.flush()
    has_primary = session.scalar(
        select(User.id).where(User.organisation_id == organisation.id, User.primary_referent)
    )
    if has_primary is None:
        user.primary_referent = True  # the first referent is the main contact until staff say
    session.flush()
    record(
        session,
        "invitation.accepted",
        actor=user,
        obj=invitation,
        organisation_id=organisation.id,
        user_id=user.id,
    )
    return user


# Bulk invitations --------------------------------------------------------------------------


class Channel(enum.StrEnum):
    """Which of an organisation's addresses a bulk invitation goes to."""

    PEC_FIRST = "pec_first"
    EMAIL_FIRST = "email_first"
    PEC = "pec"
    EMAIL = "email"


def _address(organisation: Organisation, channel: Channel) -> str | None:
    order = {
        Channel.PEC_FIRST: (organisation.pec, organisation.email),
        Channel.EMAIL_FIRST: (organisation.email, organisation.pec),
        Channel.PEC: (organisation.pec,),
        Channel.EMAIL: (organisation.email,),
    }[channel]
    return next((address for address in order if address), None)


@dataclass
class BulkRow:
    organisation: Organisation
    address: str | None
    #: None when the organisation is invited; otherwise why it is skipped.
    skipped: object | None = None


@dataclass
class BulkPlan:
    rows: list[BulkRow]
    applied: bool = False

    @property
    def to_invite(self) -> list[BulkRow]:
        return [row for row in self.rows if row.skipped is None]

    @property
    def skipped(self) -> list[BulkRow]:
        return [row for row in self.rows if row.skipped is not None]


def bulk_invite(
    session: Session,
    organisations: list[Organisation],
    channel: Channel,
    *,
    actor: User | None,
    apply: bool,
) -> BulkPlan:
    """Invite every organisation listed at its PEC or e-mail address, skipping (and saying why)
    those that already have an active referent or a pending invitation, or have no address.

    With ``apply`` False nothing changes: the plan is the preview.
    """
    ids = [organisation.id for organisation in organisations]
    with_referent = set(
        session.scalars(
            select(User.organisation_id).where(User.organisation_id.in_(ids), User.active)
        )
    )
    pending = set(
        session.scalars(
            select(Invitation.organisation_id).where(
                Invitation.organisation_id.in_(ids), Invitation.state == InvitationState.PENDING
            )
        )
    )
    addresses = [_address(o, channel) for o in organisations]
    accounts_by_address = {
        row.email: row
        for row in session.execute(
            select(User.email, User.organisation_id, User.active).where(
                User.email.in_([a.lower() for a in addresses if a])
            )
        )
    }
    rows = []
    for organisation in organisations:
        address = _address(organisation, channel)
        skipped = None
        if not organisation.active:
            skipped = _l("deactivated")
        elif organisation.id in with_referent:
            skipped = _l("already has an active referent")
        elif organisation.id in pending:
            skipped = _l("already invited (invitation pending)")
        elif address is None:
            skipped = {
                Channel.PEC: _l("no PEC address"),
                Channel.EMAIL: _l("no e-mail address"),
            }.get(channel, _l("no PEC or e-mail address"))
        elif email_address(address) is None:
            skipped = _l("the address on file is not valid")
        elif (account := accounts_by_address.get(address.lower())) is not None and (
            account.organisation_id not in (None, organisation.id)
        ):
            skipped = _l("the address belongs to a referent of another organisation")
        elif account is not None and not account.active:
            skipped = _l("the address belongs to a deactivated account")
        rows.append(BulkRow(organisation, address, skipped))
    plan = BulkPlan(rows)
    if apply:
        for row in plan.to_invite:
            invite_referent(session, row.organisation, row.address, actor=actor)
        record(
            session,
            "invitation.bulk_sent",
            actor=actor,
            object_type="organisations",
            channel=str(channel),
            invited=[row.organisation.id for row in plan.to_invite],
            skipped=[row.organisation.id for row in plan.skipped],
        )
        plan.applied = True
    return plan


def organisations_of(session: Session, *, zone: Zone | None = None, group: Group | None = None):
    """The organisations of a zone or a group, by name, with what the bulk plan reads loaded."""
    query = select(Organisation).order_by(Organisation.name)
    if zone is not None:
        query = query.where(Organisation.zone_id == zone.id)
    if group is not None:
        query = query.where(Organisation.groups.any(Group.id == group.id))
    return list(session.scalars(query.options(selectinload(Organisation.groups))))
