"""The registry blueprint and what its views share: label filters, committing an operation,
the zone and group choices."""

from __future__ import annotations

from flask import Blueprint
from wtforms.fields.choices import SelectChoice

from app.core.i18n import lazy_gettext as _l
from app.core.templating import add_nav_item
from app.stakeholders import queries
from app.stakeholders.labels import ACTION_LABELS, KIND_LABELS, STATUS_LABELS
from app.stakeholders.models import Group, Zone
from app.stakeholders.permissions import can_manage_registry

bp = Blueprint("stakeholders", __name__)
add_nav_item(
    "stakeholders.list_organisations", _l("Registry"), can_manage_registry, prefix="stakeholders"
)

PAGE_SIZE = 50


@bp.app_template_filter("kind_label")
def kind_label(kind) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_filter("invitation_status_label")
def invitation_status_label(status) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("import_action_label")
def import_action_label(action) -> str:
    return str(ACTION_LABELS.get(action, action))


def _zone_choices(none_label) -> list[SelectChoice]:
    zones = queries.names(Zone)
    return [SelectChoice(0, none_label), *[SelectChoice(z.id, z.name) for z in zones]]


def _group_choices() -> list[SelectChoice]:
    return [SelectChoice(g.id, g.name) for g in queries.names(Group)]
