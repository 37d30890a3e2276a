"""Who reads a round's traceability report: staff while it is a draft, everyone the plan is
shown to once the round is concluded."""

from __future__ import annotations

from app.core.permissions import is_staff, register
from app.plans.permissions import can_see_plan
from app.rounds.models import Round, RoundState

#: A round that has opened has observations to report on.
_REPORTABLE = frozenset(
    {RoundState.OPEN, RoundState.CLOSED, RoundState.IN_REVIEW, RoundState.CONCLUDED}
)


def report_is_draft(round_: Round) -> bool:
    """Until the round is concluded the report is a draft, marked so on every page."""
    return round_.state is not RoundState.CONCLUDED


def report_exists(user, round_: Round) -> bool:
    """A round has a report once it has opened (for everyone: who may read it is
    :func:`can_read_report`, so that a visitor not logged in is asked to log in)."""
    return round_.state in _REPORTABLE


def can_read_report(user, round_: Round) -> bool:
    """The report by observation, its statistics and permalinks: staff once the round has
    opened (a draft until it is concluded); then anyone the plan is shown to."""
    if round_.state is RoundState.CONCLUDED and can_see_plan(user, round_.version.plan):
        return True
    return is_staff(user) and round_.state in _REPORTABLE


def can_download_annex(user, job) -> bool:
    """An annex file: a draft's, or one for staff only (the ODT to edit), to staff; a concluded
    round's public annex to whoever may read the report (checked first, on the round)."""
    from app.reports.jobs import FORMATS

    if job.draft or FORMATS[job.format]["staff_only"]:
        return is_staff(user)
    return True


register(report_exists, can_read_report, can_download_annex)
