"""Organisations, zone omogenee and groups (Tavoli): creating and changing them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import changes as audit_changes
from app.core.audit import record
from app.core.i18n import lazy_gettext as _l
from app.stakeholders.models import Group, Organisation, OrganisationKind, Zone
from app.stakeholders.operations.values import (
    ISTAT_CODE,
    RegistryError,
    email_address,
    normalise_istat_code,
    website_address,
)


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


#: The organisation's fields whose values an audit entry keeps (codes and ids; names and
#: addresses are only named as changed).
AUDITED_VALUES = ("kind", "istat_code", "zone_id", "active", "group_ids")


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
        session,
        "organisation.created",
        actor=actor,
        obj=organisation,
        **{key: _describe(organisation)[key] for key in AUDITED_VALUES},
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
        record(
            session,
            "organisation.updated",
            actor=actor,
            obj=organisation,
            **audit_changes(changes, values_of=AUDITED_VALUES),
        )
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
        record(session, f"{model.__tablename__[:-1]}.created", actor=actor, obj=obj)
        return obj
    changes = {}
    if obj.name != name:
        changes["name"] = [obj.name, name]
    if obj.description != description:
        changes["description"] = [obj.description, description]
    obj.name, obj.description = name, description
    if changes:
        record(
            session,
            f"{model.__tablename__[:-1]}.updated",
            actor=actor,
            obj=obj,
            **audit_changes(changes),
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
