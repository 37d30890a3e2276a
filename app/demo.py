"""Demo data for development and the browser tests: idempotent, refused in production."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.core.db import utcnow
from app.observations.demo import load_demo_observation
from app.plans.demo import load_demo_plan
from app.rounds.demo import load_demo_round
from app.stakeholders import imports
from app.stakeholders import operations as registry
from app.stakeholders.models import Group, Invitation, Organisation, OrganisationKind, Zone


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    name: str
    roles: tuple[Role, ...]
    organisation: str | None = None


#: The zone omogenee of the Città metropolitana di Milano (Statuto, art. 29), plus Milano.
DEMO_ZONES = (
    "Alto Milanese",
    "Magentino e Abbiatense",
    "Nord Ovest",
    "Nord Milano",
    "Adda Martesana",
    "Sud Est",
    "Sud Ovest",
    "Milano",
)
#: Which comune sits in which zone, by ISTAT code (an indicative assignment for the demo).
DEMO_ZONE_FILE = imports.DATA_DIR / "demo-zone-omogenee.csv"

_K = OrganisationKind
#: The two Tavoli and some of their members: (name, kind, website). Addresses are made up.
DEMO_GROUPS = {
    "Tavolo metropolitano Università": (
        ("Università degli Studi di Milano", _K.UNIVERSITA, "www.unimi.it"),
        ("Politecnico di Milano", _K.UNIVERSITA, "www.polimi.it"),
        ("Università degli Studi di Milano-Bicocca", _K.UNIVERSITA, "www.unimib.it"),
        ("Università Commerciale Luigi Bocconi", _K.UNIVERSITA, "www.unibocconi.it"),
        ("Università Cattolica del Sacro Cuore", _K.UNIVERSITA, "www.unicatt.it"),
        ("Università IULM", _K.UNIVERSITA, "www.iulm.it"),
        ("Università Vita-Salute San Raffaele", _K.UNIVERSITA, "www.unisr.it"),
    ),
    "Tavolo metropolitano": (
        (
            "Camera di Commercio di Milano Monza Brianza Lodi",
            _K.AUTONOMIA_FUNZIONALE,
            "www.milomb.camcom.it",
        ),
        ("Assolombarda", _K.ASSOCIAZIONE_CATEGORIA, "www.assolombarda.it"),
        ("Confcommercio Milano", _K.ASSOCIAZIONE_CATEGORIA, "www.confcommerciomilano.it"),
        (
            "Confartigianato Imprese Milano Monza e Brianza",
            _K.ASSOCIAZIONE_CATEGORIA,
            "www.confartigianato.it",
        ),
        ("CGIL Camera del Lavoro Metropolitana di Milano", _K.SINDACATO, "www.cgil.milano.it"),
        ("CISL Milano Metropoli", _K.SINDACATO, "www.cislmilano.it"),
        ("UIL Milano e Lombardia", _K.SINDACATO, "www.uilmilanolombardia.it"),
        ("Forum del Terzo Settore di Milano", _K.TERZO_SETTORE, "www.forumterzosettore.it"),
        ("Fondazione Cariplo", _K.TERZO_SETTORE, "www.fondazionecariplo.it"),
    ),
}
#: A pending invitation (no e-mail is sent), so that the invitations page has one to show.
DEMO_INVITATION = ("Comune di Legnano", "sindaco@comune-legnano.example", "Lorenza Legnanese")

DEMO_LOGINS = (
    DemoLogin(
        "admin@traccia.example", "demo-admin-2026", "Alessandra Amministratrice", (Role.ADMIN,)
    ),
    DemoLogin("editor@traccia.example", "demo-editor-2026", "Enrico Redattore", (Role.EDITOR,)),
    DemoLogin(
        "moderatore@traccia.example", "demo-moderatore-2026", "Marta Moderatrice", (Role.MODERATOR,)
    ),
    DemoLogin(
        "referente@comune-rho.example",
        "demo-referente-2026",
        "Roberto Referente",
        (Role.STAKEHOLDER,),
        "Comune di Rho",
    ),
    DemoLogin(
        "delegata@unimi.example",
        "demo-delegata-2026",
        "Daniela Delegata",
        (Role.STAKEHOLDER,),
        "Università degli Studi di Milano",
    ),
)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _load_registry(session: Session) -> list[str]:
    """The comuni (ISTAT), their zones, the two Tavoli and their members; made-up addresses."""
    created: list[str] = []
    plan = imports.import_comuni_of_province(session, "MI")
    if plan.count(imports.RowAction.CREATE) or plan.count(imports.RowAction.UPDATE):
        created.append(f"{plan.count(imports.RowAction.CREATE)} comuni")
    for name in DEMO_ZONES:
        if session.scalar(select(Zone.id).where(Zone.name == name)) is None:
            registry.save_zone(session, None, name=name, description=None, actor=None)
            created.append(f"zone {name}")
    plan = imports.import_zone_assignments(session, DEMO_ZONE_FILE.read_bytes(), apply=True)
    if not plan.ok:  # pragma: no cover - the shipped file matches the shipped list
        raise RuntimeError(f"demo zone file rejected: {plan.rows}")
    if plan.count(imports.RowAction.UPDATE):
        created.append(f"{plan.count(imports.RowAction.UPDATE)} zone assignments")
    for comune in session.scalars(
        select(Organisation).where(
            Organisation.kind == OrganisationKind.COMUNE, Organisation.pec.is_(None)
        )
    ):
        slug = _slug(comune.name.removeprefix(imports.COMUNE_PREFIX))
        comune.pec = f"protocollo@pec.comune-{slug}.example"
        comune.email = f"urp@comune-{slug}.example"
    for group_name, members in DEMO_GROUPS.items():
        group = session.scalar(select(Group).where(Group.name == group_name))
        if group is None:
            group = registry.save_group(
                session, None, name=group_name, description=None, actor=None
            )
            created.append(f"group {group_name}")
        for name, kind, website in members:
            organisation = session.scalar(select(Organisation).where(Organisation.name == name))
            if organisation is None:
                slug = _slug(name)[:40].strip("-")
                organisation = registry.create_organisation(
                    session,
                    registry.OrganisationData(
                        name=name,
                        kind=kind,
                        pec=f"protocollo@pec.{slug}.example",
                        email=f"segreteria@{slug}.example",
                        website=website,
                        groups=[group],
                    ),
                    actor=None,
                )
                created.append(f"organisation {name}")
            elif group not in organisation.groups:
                organisation.groups.append(group)
    session.flush()
    return created


def load_demo(session: Session) -> list[str]:
    """Create what is missing; return a line per thing created (empty when all was there)."""
    created = _load_registry(session)
    organisations = {
        login.organisation: session.scalar(
            select(Organisation).where(Organisation.name == login.organisation)
        )
        for login in DEMO_LOGINS
        if login.organisation
    }
    for login in DEMO_LOGINS:
        if session.scalar(select(User.id).where(User.email == login.email)) is not None:
            continue
        organisation = organisations.get(login.organisation) if login.organisation else None
        user = accounts.create_user(
            session,
            email=login.email,
            display_name=login.name,
            roles=login.roles,
            organisation=organisation,
            password=login.password,
            send_welcome=False,
        )
        if organisation is not None and not any(
            referent.primary_referent for referent in organisation.referents
        ):
            user.primary_referent = True
        session.flush()
        created.append(f"user {login.email}")
    name, email, person = DEMO_INVITATION
    legnano = session.scalar(select(Organisation).where(Organisation.name == name))
    if session.scalar(select(Invitation.id).where(Invitation.email == email)) is None:
        # Shown on the invitations page; no e-mail is queued (demo data sends nothing).
        now = utcnow()
        session.add(
            Invitation(
                organisation=legnano,
                email=email,
                display_name=person,
                token_hash=accounts.hash_token(secrets.token_urlsafe(32)),
                sent_at=now,
                expires_at=now + timedelta(seconds=current_app.config["INVITATION_TTL"]),
            )
        )
        created.append(f"invitation {email}")
    created.extend(load_demo_plan(session))
    created.extend(load_demo_round(session))
    created.extend(load_demo_observation(session, referent_email="referente@comune-rho.example"))
    from app.moderation.tags import seed_tags

    seeded = seed_tags(session)
    if any(seeded.values()):
        created.append("tags: {policy_areas} policy areas, {zones} zones".format(**seeded))
    return created
