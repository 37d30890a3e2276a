"""The demo consultation: the 2019 draft of the PSM open to the comuni and the two Tavoli
(its first observation is ``app.observations.demo``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.plans.demo import SLUG
from app.plans.models import Plan, PlanVersion
from app.rounds import operations
from app.rounds.models import Round
from app.stakeholders.models import Group, OrganisationKind

PREFIX = "PSM2019"
INSTRUCTIONS = (
    "<p>La Città metropolitana di Milano raccoglie le osservazioni, i suggerimenti e le proposte "
    "di modifica sulla bozza del Piano Strategico Metropolitano 2019-2021.</p>"
    "<p>Commentate una sezione, un paragrafo o un passaggio selezionato nel testo; ogni "
    "osservazione riceve un numero di protocollo e una ricevuta.</p>"
)


def load_demo_round(session: Session) -> list[str]:
    if session.scalar(select(Round.id).where(Round.protocol_prefix == PREFIX)) is not None:
        return []
    version = session.scalar(
        select(PlanVersion)
        .join(Plan, Plan.id == PlanVersion.plan_id)
        .where(Plan.slug == SLUG, PlanVersion.number == 1)
    )
    if version is None:
        return []
    now = utcnow()
    round_ = operations.create_round(
        session,
        version=version,
        title="Consultazione sulla bozza del Piano Strategico 2019-2021",
        instructions=INSTRUCTIONS,
        opens_at=now - timedelta(days=7),
        closes_at=now + timedelta(days=21),
        protocol_prefix=PREFIX,
        kinds=[OrganisationKind.COMUNE],
        groups=list(session.scalars(select(Group).order_by(Group.name))),
        actor=None,
    )
    operations.change_state(session, round_, "schedule", actor=None)
    # Demo data sends nothing: no opening e-mail to the (made-up) referents.
    operations.change_state(
        session, round_, "open", actor=None, now=now - timedelta(days=7), announce=False
    )
    return [f"round {PREFIX}"]
