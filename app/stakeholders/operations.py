"""What can happen in the stakeholder registry: organisations, zones, groups, referents and
their invitations. Functions change state, write the audit entry and queue mail; they flush but
never commit (the caller's request or command commits once).

The CSV and ISTAT imports are in ``imports.py``.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.core.urls import absolute_url
from app.notifications.operations import queue_email
from app.stakeholders.models import (
    Group,
    Invitation,
    InvitationState,
    Organisation,
    OrganisationKind,
    Zone,
)

ISTAT_CODE = re.compile(r"^\d{6}$")


class RegistryError(ValueError):
    """A refusal to show the user as it is (the message is translatable)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


# Values ------------------------------------------------------------------------------------


def normalise_istat_code(value: str | None) -> str | None:
    """``15182`` (Excel drops the leading zero) and ``015182`` both give ``015182``."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit() and 4 <= len(value) < 6:
        value = value.zfill(6)
    return value


def email_address(value: str | None) -> str | None:
    """The address lower-cased if it is well formed, else None (no network look-up)."""
    value = (value or "").strip()
    if not value or len(value) > 254:
        return None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def website_address(value: str | None) -> str | None:
    """``www.comune.rho.mi.it`` → ``https://www.comune.rho.mi.it``; None if it is no address."""
    value = (value or "").strip()
    if not value:
        return None
    if not re.match(r"^https?://", value, re.IGNORECASE):
        value = "https://" + value
    if len(value) > 300 or not re.match(r"^https?://[^\s/.]+\.[^\s/]+(/\S*)?$", value, re.I):
        return None
    return value


# Organisations -----------------------------------------------------------------------------


@dataclass
class OrganisationData:
    name: str
    kind: OrganisationKind
    istat_code: str | None = None
    zone: Zone | None = None
    pec: str | None = None
    email: str | None = None
    website: str | None = None
    active: bool = True
    groups: list[Group] = field(default_factory=list)


def _check_organisation(
    session: Session, data: OrganisationData, existing: Organisation | None
) -> OrganisationData:
    """Validate and normalise; raise RegistryError naming the field at fault."""
    name = " ".join(data.name.split())
    if not name:
        raise RegistryError(_l("The name is required."), "name")
    comune = data.kind == OrganisationKind.COMUNE
    istat_code = normalise_istat_code(data.istat_code)
    if istat_code and not comune:
        raise RegistryError(_l("Only a comune has an ISTAT code."), "istat_code")
    if istat_code and not ISTAT_CODE.match(istat_code):
        raise RegistryError(_l("An ISTAT code has six digits, e.g. 015182."), "istat_code")
    if data.zone is not None and not comune:
        raise RegistryError(_l("Only a comune belongs to a zona omogenea."), "zone_id")
    addresses = {}
    for key, label in (("pec", _l("PEC address")), ("email", _l("E-mail address"))):
        raw = getattr(data, key)
        addresses[key] = email_address(raw)
        if raw and raw.strip() and addresses[key] is None:
            raise RegistryError(_l("%(field)s is not a valid address.", field=label), key)
    website = website_address(data.website)
    if data.website and data.website.strip() and website is None:
        raise RegistryError(_l("The website is not a valid web address."), "website")
    own_id = existing.id if existing is not None else None
    clash = session.scalar(
        select(Organisation.id).where(
            func.lower(Organisation.name) == name.lower(), Organisation.id != own_id
        )
    )
    if clash is not None:
        raise RegistryError(_l("Another organisation already has this name."), "name")
    if istat_code:
        clash = session.scalar(
            select(Organisation.name).where(
                Organisation.istat_code == istat_code, Organisation.id != own_id
            )
        )
        if clash is not None:
            raise RegistryError(
                _l("ISTAT code %(code)s already belongs to %(name)s.", code=istat_code, name=clash),
                "istat_code",
            )
    return OrganisationData(
        name=name,
        kind=data.kind,
        istat_code=istat_code,
        zone=data.zone,
        pec=addresses["pec"],
        email=addresses["email"],
        website=website,
        active=data.active,
        groups=list(data.groups),
    )


def _describe(organisation: Organisation) -> dict:
    return {
        "name": organisation.name,
        "kind": str(organisation.kind),
        "istat_code": organisation.istat_code,
        "zone_id": organisation.zone_id,
        "pec": organisation.pec,
        "email": organisation.email,
        "website": organisation.website,
        "active": organisation.active,
        "group_ids": sorted(group.id for group in organisation.groups),
    }


def _assign(organisation: Organisation, data: OrganisationData) -> None:
    organisation.name = data.name
    organisation.kind = data.kind
    organisation.istat_code = data.istat_code
    organisation.zone = data.zone
    organisation.pec = data.pec
    organisation.email = data.email
    organisation.website = data.website
    organisation.active = data.active
    organisation.groups = sorted(data.groups, key=lambda group: group.name)


def create_organisation(
    session: Session, data: OrganisationData, *, actor: User | None
) -> Organisation:
    data = _check_organisation(session, data, None)
    organisation = Organisation()
    _assign(organisation, data)
    session.add(organisation)
    session.flush()
    record(
        session, "organisation.created", actor=actor, obj=organisation, **_describe(organisation)
    )
    return organisation


def update_organisation(
    session: Session, organisation: Organisation, data: OrganisationData, *, actor: User | None
) -> dict:
    """Apply the changes; return them as {field: [before, after]} (empty when nothing changed)."""
    data = _check_organisation(session, data, organisation)
    before = _describe(organisation)
    _assign(organisation, data)
    session.flush()
    after = _describe(organisation)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        record(session, "organisation.updated", actor=actor, obj=organisation, changes=changes)
    return changes


# Zones and groups --------------------------------------------------------------------------


def _named(session: Session, model, obj, name: str, description: str | None, actor, label):
    name = " ".join((name or "").split())
    if not name:
        raise RegistryError(_l("The name is required."), "name")
    clash = session.scalar(
        select(model.id).where(
            func.lower(model.name) == name.lower(), model.id != (obj.id if obj else None)
        )
    )
    if clash is not None:
        raise RegistryError(label, "name")
    description = (description or "").strip() or None
    created = obj is None
    if created:
        obj = model(name=name, description=description)
        session.add(obj)
        session.flush()
        record(session, f"{model.__tablename__[:-1]}.created", actor=actor, obj=obj, name=name)
        return obj
    changes = {}
    if obj.name != name:
        changes["name"] = [obj.name, name]
    if obj.description != description:
        changes["description"] = [obj.description, description]
    obj.name, obj.description = name, description
    if changes:
        record(
            session, f"{model.__tablename__[:-1]}.updated", actor=actor, obj=obj, changes=changes
        )
    session.flush()
    return obj


def save_zone(
    session: Session, zone: Zone | None, *, name: str, description: str | None, actor
) -> Zone:
    """Create a zone (``zone`` None) or rename and describe an existing one."""
    return _named(
        session, Zone, zone, name, description, actor, _l("A zone with this name already exists.")
    )


def save_group(
    session: Session, group: Group | None, *, name: str, description: str | None, actor
) -> Group:
    """Create a group (``group`` None) or rename and describe an existing one."""
    return _named(
        session,
        Group,
        group,
        name,
        description,
        actor,
        _l("A group with this name already exists."),
    )


# Referents ---------------------------------------------------------------------------------


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
        email=address,
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
