"""The read side of plans: finding a plan or a version by its address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.core.permissions import Loader
from app.extensions import db
from app.plans.changes import TextChange
from app.plans.models import Plan, PlanVersion


def get_plan(slug: str) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.slug == slug))


def get_version(slug: str, number: int) -> PlanVersion | None:
    return db.session.scalar(
        select(PlanVersion)
        .join(Plan)
        .where(Plan.slug == slug, PlanVersion.number == number)
        .options(joinedload(PlanVersion.plan))
    )


def get_change(slug: str, number: int, change_id: int) -> TextChange | None:
    """A stored change of the version the URL names (another version's change is not found)."""
    return db.session.scalar(
        select(TextChange)
        .join(PlanVersion, PlanVersion.id == TextChange.version_id)
        .join(Plan, Plan.id == PlanVersion.plan_id)
        .where(Plan.slug == slug, PlanVersion.number == number, TextChange.id == change_id)
        .options(joinedload(TextChange.version).joinedload(PlanVersion.plan))
    )


#: The plan a URL names (``<slug>``) and one of its versions (``<slug>/v<int:number>``).
PLAN = Loader("plan", ("slug",), get_plan)
VERSION = Loader("version", ("slug", "number"), get_version)
#: A stored change of a version (``<slug>/v<int:number>/changes/<int:change_id>``).
CHANGE = Loader("change", ("slug", "number", "change_id"), get_change)
