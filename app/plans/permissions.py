"""Who may read and edit plans: named predicates, used by views and templates alike."""

from __future__ import annotations

from app.core.permissions import is_editor, is_logged_in, is_staff, register
from app.plans.models import Audience, Plan, PlanVersion


def can_manage_plans(user) -> bool:
    """Create plans, import texts, start, freeze and adopt versions."""
    return is_editor(user)


def _audience_allows(user, plan: Plan) -> bool:
    if is_staff(user):
        return True
    if plan.audience is Audience.PUBLIC:
        return True
    if plan.audience is Audience.REGISTERED:
        return is_logged_in(user)
    return False


def can_see_plan(user, plan: Plan) -> bool:
    return _audience_allows(user, plan)


def can_read_version(user, version: PlanVersion) -> bool:
    """Drafts are for staff; frozen and adopted versions for the plan's audience."""
    if version.is_draft:
        return is_staff(user)
    return _audience_allows(user, version.plan)


def can_edit_version(user, version: PlanVersion) -> bool:
    return is_editor(user) and version.is_draft


def can_see_change(user, change) -> bool:
    """A stored change is seen by whoever may read its version."""
    return can_read_version(user, change.version)


def can_mark_editorial(user, change) -> bool:
    """Mark a current stored change editorial, or remove the mark: plan editors, on a draft or a
    frozen version (coverage is reviewed once the response version is frozen)."""
    return is_editor(user) and change.ended_at is None


register(
    can_manage_plans,
    can_see_plan,
    can_read_version,
    can_edit_version,
    can_see_change,
    can_mark_editorial,
)
