"""The report's statistics as they are shown: each table's rows labelled in the reader's
language and its bar chart's geometry. The statistics page and the annex draw from here, so
the two show the same numbers under the same names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.i18n import lazy_gettext as _l
from app.moderation import dashboard
from app.observations.forms import CHANNEL_LABELS
from app.plans.forms import POLICY_AREA_LABELS
from app.reports import statistics
from app.rounds.models import Round
from app.stakeholders.labels import KIND_LABELS

#: What a row without a value stands for, per dimension.
EMPTY = {
    "kind": _l("Citizens"),
    "group": _l("In no group"),
    "zone": _l("No zone"),
    "area": _l("No policy area"),
    "channel": _l("Unknown"),
}
TITLES = {
    "kind": _l("By kind of organisation"),
    "group": _l("By group"),
    "zone": _l("By zone"),
    "area": _l("By policy area"),
    "channel": _l("By channel"),
}


def label(dimension: str, key) -> str:
    if key is None:
        return str(EMPTY[dimension])
    labels = {"kind": KIND_LABELS, "area": POLICY_AREA_LABELS, "channel": CHANNEL_LABELS}
    return str(labels[dimension][key]) if dimension in labels else key


def statistics_view(session: Session, round_: Round) -> dict:
    """What the statistics templates draw: the figures, each table's labelled rows, the charts."""
    figures = statistics.round_statistics(session, round_)
    tables = [
        (table, [(label(table.dimension, row.key), row) for row in table.rows])
        for table in figures.tables
    ]
    charts = {
        table.dimension: dashboard.bars([(str(name), row.observations) for name, row in rows])
        for table, rows in tables
    }
    return {
        "figures": figures,
        "tables": tables,
        "charts": charts,
        "titles": TITLES,
        "outcomes": statistics.OUTCOMES,
        "chart_width": dashboard.WIDTH,
        "label_width": dashboard.LABEL_WIDTH,
    }
