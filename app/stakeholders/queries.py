"""The read side of the registry: the organisation search, the invitations list by status,
the zones and groups with their counts, and the choices forms offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.extensions import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.stakeholders.models import (
    Group,
    Invitation,
    InvitationState,
    InvitationStatus,
    Organisation,
    OrganisationKind,
    Zone,
    group_memberships,
)


@dataclass(frozen=True)
class OrganisationFilters:
    """What the registry list is narrowed to; empty values filter nothing."""

    #: Part of the name (any case) or a whole ISTAT code.
    text: str = ""
    kind: OrganisationKind | None = None
    zone_id: int | None = None
    group_id: int | None = None


def organisations(filters: OrganisationFilters = OrganisationFilters()) -> Select:
    """Organisations matching ``filters``, by name, with their zone loaded."""
    query = select(Organisation).options(joinedload(Organisation.zone))
    term = filters.text.strip().lower()
    if term:
        query = query.where(
            or_(
                func.lower(Organisation.name).contains(term, autoescape=True),
                Organisation.istat_code == term,
            )
        )
    if filters.kind is not None:
        query = query.where(Organisation.kind == filters.kind)
    if filters.zone_id:
        query = query.where(Organisation.zone_id == filters.zone_id)
    if filters.group_id:
        members = select(group_memberships.c.organisation_id).where(
            group_memberships.c.group_id == filters.group_id
        )
        query = query.where(Organisation.id.in_(members))
    return query.order_by(func.lower(Organisation.name), Organisation.id)


def active_referent_counts(organisation_ids: list[int]) -> dict[int, int]:
    """How many active referents each organisation has (one query)."""
    return dict(
        db.session.execute(
            select(User.organisation_id, func.count(User.id))
            .where(User.organisation_id.in_(organisation_ids), User.active)
            .group_by(User.organisation_id)
        ).all()
    )


def group_names(organisation_ids: list[int]) -> dict[int, list[str]]:
    """The groups each organisation belongs to, by name (one query)."""
    names: dict[int, list[str]] = {}
    for row in db.session.execute(
        select(group_memberships.c.organisation_id, Group.name)
        .join(Group, Group.id == group_memberships.c.group_id)
        .where(group_memberships.c.organisation_id.in_(organisation_ids))
        .order_by(Group.name)
    ):
        names.setdefault(row.organisation_id, []).append(row.name)
    return names


def _status_condition(status: InvitationStatus, now: datetime):
    bounced = OutboxMessage.status == OutboxStatus.FAILED
    not_bounced = or_(OutboxMessage.id.is_(None), OutboxMessage.status != OutboxStatus.FAILED)
    pending = Invitation.state == InvitationState.PENDING
    return {
        InvitationStatus.ACCEPTED: Invitation.state == InvitationState.ACCEPTED,
        InvitationStatus.REVOKED: Invitation.state == InvitationState.REVOKED,
        InvitationStatus.BOUNCED: and_(pending, bounced),
        InvitationStatus.EXPIRED: and_(pending, not_bounced, Invitation.expires_at <= now),
        InvitationStatus.INVITED: and_(pending, not_bounced, Invitation.expires_at > now),
    }[status]


def invitations(status: InvitationStatus | None, now: datetime) -> Select:
    """Invitations, latest first, in the given status as it stands at ``now`` (all if None)."""
    query = (
        select(Invitation)
        .outerjoin(OutboxMessage, Invitation.outbox_message_id == OutboxMessage.id)
        .options(
            joinedload(Invitation.organisation),
            joinedload(Invitation.outbox_message),
            joinedload(Invitation.user),
        )
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
    )
    if status is not None:
        query = query.where(_status_condition(status, now))
    return query


def with_member_counts(model: type[Zone] | type[Group]) -> list:
    """Every zone (its comuni) or group (its members) with how many organisations it holds."""
    if model is Zone:
        counted = select(Zone, func.count(Organisation.id)).outerjoin(
            Organisation, Organisation.zone_id == Zone.id
        )
    else:
        counted = select(Group, func.count(group_memberships.c.organisation_id)).outerjoin(
            group_memberships, group_memberships.c.group_id == Group.id
        )
    return db.session.execute(counted.group_by(model.id).order_by(model.name)).all()


def names(model: type[Zone] | type[Group]) -> list:
    """``(id, name)`` rows of every zone or group, by name: what choices are made of."""
    return db.session.execute(select(model.id, model.name).order_by(model.name)).all()


def active_organisation_names() -> list:
    """``(id, name)`` rows of every active organisation, by name: what choices are made of."""
    return db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.active.is_(True))
        .order_by(Organisation.name)
    ).all()
