"""The round: open on the consulted version for 30 days until two days after the seeding
moment, for every comune and every member of a Tavolo."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.rounds.operations import change_state, create_round
from app.stakeholders.models import Group, OrganisationKind, Zone

OPEN_DAYS = 30
DAYS_LEFT = 2


def seed(ctx) -> str:
    session = ctx.session
    admin = session.get(User, ctx.shared["staff"]["admin@bench.example"])
    opens_at = ctx.now - timedelta(days=OPEN_DAYS)
    round_ = create_round(
        session,
        version=ctx.shared["consulted"],
        title="Consultazione sul Piano territoriale metropolitano",
        instructions="<p>Le osservazioni si riferiscono al documento di piano.</p>",
        opens_at=opens_at,
        closes_at=ctx.now + timedelta(days=DAYS_LEFT),
        protocol_prefix="PTM2026",
        groups=session.scalars(select(Group).order_by(Group.id)).all(),
        zones=session.scalars(select(Zone).order_by(Zone.id)).all(),
        kinds=[OrganisationKind.COMUNE],
        actor=admin,
    )
    change_state(session, round_, "schedule", actor=admin, now=opens_at)
    change_state(session, round_, "open", actor=admin, now=opens_at, announce=False)
    ctx.shared["round"] = round_
    ctx.manifest.update(round_id=round_.id)
    return f"round {round_.id} open until {round_.closes_at:%Y-%m-%d %H:%M} UTC"
