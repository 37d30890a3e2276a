"""The home page (above the domains, like app/demo.py: it gathers from several of them)
after login: what this user can do now, each part in a bounded number of
queries whatever the data size — the consultations open to them with their deadlines, their
drafts, and for staff what waits for them."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.core.db import utcnow
from app.core.permissions import is_admin
from app.core.routes import bp
from app.core.security import public
from app.extensions import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.observations.models import Observation, ObservationState
from app.plans.models import Plan, PlanImport, PlanVersion, VersionStatus
from app.plans.permissions import can_manage_plans
from app.rounds.models import Round, RoundState
from app.rounds.permissions import can_manage_rounds, can_submit

#: How many items each part lists (the full lists are one link away).
LIMIT = 10


def open_consultations(user) -> list:
    """Open rounds this user may write in, soonest deadline first."""

    now = utcnow()
    rounds = db.session.scalars(
        select(Round)
        .where(Round.state == RoundState.OPEN, Round.opens_at <= now, Round.closes_at > now)
        .options(selectinload(Round.groups), selectinload(Round.zones))
        .order_by(Round.closes_at, Round.id)
        .limit(50)  # open rounds are few; a bound all the same
    ).all()
    return [round_ for round_ in rounds if can_submit(user, round_)][:LIMIT]


def drafts(user) -> tuple[list, int]:
    """The user's drafts, last changed first, and how many there are in all."""

    mine = (Observation.author_id == user.id) & (Observation.state == ObservationState.DRAFT)
    rows = db.session.scalars(
        select(Observation)
        .where(mine)
        .order_by(Observation.updated_at.desc(), Observation.id.desc())
        .limit(LIMIT)
    ).all()
    total = db.session.scalar(select(func.count(Observation.id)).where(mine)) if rows else 0
    return rows, total


def staff_work(user) -> dict:
    """For moderators: rounds to prepare, to open, and closed ones to review; for plan editors:
    draft versions and imports waiting for confirmation; for administrators: failed e-mails."""

    work: dict = {}
    if can_manage_rounds(user):
        work["rounds"] = db.session.scalars(
            select(Round)
            .where(Round.state.in_([RoundState.DRAFT, RoundState.SCHEDULED, RoundState.CLOSED]))
            .order_by(Round.closes_at, Round.id)
            .limit(LIMIT)
        ).all()
    if can_manage_plans(user):
        work["versions"] = db.session.scalars(
            select(PlanVersion)
            .where(PlanVersion.status == VersionStatus.DRAFT)
            .options(joinedload(PlanVersion.plan))
            .order_by(PlanVersion.id.desc())
            .limit(LIMIT)
        ).all()
        work["imports"] = db.session.execute(
            select(PlanImport.id, PlanImport.label, PlanImport.filename, Plan.slug, Plan.title)
            .join(Plan, Plan.id == PlanImport.plan_id)
            .order_by(PlanImport.id.desc())
            .limit(LIMIT)
        ).all()
    if is_admin(user):
        work["failed_mail"] = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.FAILED)
        )
    return work


def home_context(user) -> dict:
    if not getattr(user, "is_authenticated", False):
        return {}
    draft_rows, draft_total = drafts(user)
    return {
        "open_rounds": open_consultations(user),
        "drafts": draft_rows,
        "draft_total": draft_total,
        "work": staff_work(user),
        "now": utcnow(),
    }


@bp.get("/")
@public
def home():
    return render_template("core/home.html", **home_context(current_user))
