"""Who may take part in a round: organisations of the chosen kinds, zones or groups, and,
where the round allows it, registered citizens."""

from __future__ import annotations

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Role, User, UserRole
from app.rounds.models import Round, round_groups, round_zones
from app.stakeholders.models import Organisation, group_memberships


def organisation_is_eligible(round_: Round, organisation: Organisation | None) -> bool:
    if organisation is None or not organisation.active:
        return False
    if organisation.kind in round_.kinds:
        return True
    if organisation.zone_id is not None and organisation.zone_id in {z.id for z in round_.zones}:
        return True
    round_groups_ids = {g.id for g in round_.groups}
    return any(group.id in round_groups_ids for group in organisation.groups)


def eligible_organisations(round_: Round) -> Select:
    """A query of the ids of every active organisation that may take part."""
    conditions = []
    kinds = round_.kinds
    if kinds:
        conditions.append(Organisation.kind.in_(kinds))
    conditions.append(
        Organisation.zone_id.in_(
            select(round_zones.c.zone_id).where(round_zones.c.round_id == round_.id)
        )
    )
    conditions.append(
        Organisation.id.in_(
            select(group_memberships.c.organisation_id).where(
                group_memberships.c.group_id.in_(
                    select(round_groups.c.group_id).where(round_groups.c.round_id == round_.id)
                )
            )
        )
    )
    return select(Organisation.id).where(Organisation.active.is_(True), or_(false(), *conditions))


def eligible_referents(session: Session, round_: Round) -> list[User]:
    """Active stakeholder referents of eligible organisations (whom opening and reminders reach)."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                User.active.is_(True),
                UserRole.role == Role.STAKEHOLDER,
                User.organisation_id.in_(eligible_organisations(round_)),
            )
            .order_by(User.id)
        ).unique()
    )
