"""Demo data for development and the browser tests: idempotent, refused in production."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.plans.demo import load_demo_plan
from app.stakeholders.models import Organisation, OrganisationKind


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    name: str
    roles: tuple[Role, ...]
    organisation: str | None = None


DEMO_ORGANISATIONS = {
    "Comune di Rho": OrganisationKind.COMUNE,
    "Università degli Studi di Milano": OrganisationKind.UNIVERSITA,
}

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
)


def load_demo(session: Session) -> list[str]:
    """Create what is missing; return a line per thing created (empty when all was there)."""
    created: list[str] = []
    organisations: dict[str, Organisation] = {}
    for name, kind in DEMO_ORGANISATIONS.items():
        organisation = session.scalar(select(Organisation).where(Organisation.name == name))
        if organisation is None:
            organisation = Organisation(name=name, kind=kind)
            session.add(organisation)
            session.flush()
            created.append(f"organisation {name}")
        organisations[name] = organisation
    for login in DEMO_LOGINS:
        if session.scalar(select(User.id).where(User.email == login.email)) is not None:
            continue
        accounts.create_user(
            session,
            email=login.email,
            display_name=login.name,
            roles=login.roles,
            organisation=organisations.get(login.organisation) if login.organisation else None,
            password=login.password,
            send_welcome=False,
        )
        created.append(f"user {login.email}")
    created.extend(load_demo_plan(session))
    return created
