"""The traceability report of a round: by observation (filtered, a page at a time, a permalink
per observation), by section (a permalink per section), its statistics, its exports (CSV,
JSON Lines, ODS for staff; streamed) and the annex for the council (PDF/A, ODT for staff; made
in the background, see ``reports.jobs``), all on its Downloads page. Staff read it as a draft,
marked so on every page and in every exported row, until the round is concluded; then everyone
the plan is shown to."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import odsstream
from app.core.csvstream import csv_stream
from app.core.formats import format_size, format_when
from app.core.i18n import lazy_gettext as _l
from app.core.pagination import paginate
from app.core.permissions import anyone, is_staff, require
from app.core.refusals import commit_or_refuse
from app.core.security import public
from app.decisions.models import OUTCOME_LABELS
from app.extensions import db
from app.observations.forms import CHANNEL_LABELS
from app.observations.models import Observation
from app.plans.frozen import frozen_tree
from app.reports import exports, figures, jobs, publication, queries, sections
from app.reports.models import ExportJob, JobState
from app.reports.permissions import (
    can_download_annex,
    can_read_report,
    report_exists,
    report_is_draft,
)
from app.rounds.models import Round
from app.rounds.operations import register_conclusion_hook
from app.rounds.queries import ROUND
from app.stakeholders.labels import KIND_LABELS
from app.stakeholders.models import OrganisationKind, Zone

bp = Blueprint("reports", __name__, url_prefix="/reports")

PAGE_SIZE = 20


@bp.record_once
def _template_helpers(state) -> None:
    register_conclusion_hook(publication.tell_authors)
    register_conclusion_hook(jobs.annex_on_conclusion)
    state.app.jinja_env.globals.update(
        report_is_draft=report_is_draft,
        report_url=lambda round_: url_for("reports.by_observation", round_id=round_.id),
        plan_reports=plan_reports,
    )


def plan_reports(plan) -> list[Round]:
    """The plan's rounds whose report the user may read, newest first (for the plan's page:
    one query)."""
    from flask_login import current_user

    from app.plans.models import PlanVersion

    rounds = db.session.scalars(
        select(Round)
        .join(PlanVersion, PlanVersion.id == Round.plan_version_id)
        .where(PlanVersion.plan_id == plan.id)
        .order_by(Round.opens_at.desc(), Round.id.desc())
        .limit(100)
    ).all()
    return [r for r in rounds if can_read_report(current_user, r)]


def _sections(round_: Round) -> dict:
    """The consulted version's sections by id (from the frozen text: no query once read)."""
    return frozen_tree(db.session, round_.version).nodes


def _render(round_: Round, template: str, **context):
    return render_template(
        template,
        round=round_,
        draft=report_is_draft(round_),
        outcome_labels=OUTCOME_LABELS,
        **context,
    )


@bp.get("/rounds/<int:round_id>/")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def by_observation(round_: Round):
    flt = queries.ReportFilter.from_args(request.args)
    page = paginate(queries.report_query(db.session, round_, flt), per_page=PAGE_SIZE)
    sections = _sections(round_)
    return _render(
        round_,
        "reports/by_observation.html",
        flt=flt,
        page=page,
        items=queries.report_items(db.session, round_, list(page.items)),
        sections=sections,
        kinds=[(kind, KIND_LABELS[kind]) for kind in OrganisationKind],
        zones=db.session.scalars(select(Zone).order_by(Zone.name).limit(100)).all(),
        tags=queries.report_tags(db.session),
        undecided=queries.UNDECIDED,
        channel_labels=CHANNEL_LABELS,
        kind_labels=KIND_LABELS,
    )


@bp.get("/rounds/<int:round_id>/observations/<int:number>")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def observation(round_: Round, number: int):
    """The permalink of one observation in the report, by its protocol number (the URL's
    integer is bounded by the database's, as every one is: ``core.bounds``)."""
    found = db.session.scalar(
        queries.registered(round_).where(Observation.protocol_number == number)
    )
    if found is None:
        abort(404)
    return _render(
        round_,
        "reports/observation.html",
        item=queries.report_items(db.session, round_, [found])[0],
        sections=_sections(round_),
        channel_labels=CHANNEL_LABELS,
        kind_labels=KIND_LABELS,
    )


@bp.get("/rounds/<int:round_id>/sections/")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def by_section(round_: Round):
    return _render(round_, "reports/sections.html", rows=sections.section_index(db.session, round_))


@bp.get("/rounds/<int:round_id>/sections/<key>")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def section(round_: Round, key: str):
    """A section's permalink, by its key (the same in every version of the plan)."""
    node = frozen_tree(db.session, round_.version).node_by_key(key[:16])
    if node is None:
        abort(404)
    return _render(
        round_,
        "reports/section.html",
        report=sections.section_report(db.session, round_, node),
        points_shown=sections.POINTS_SHOWN,
    )


@bp.get("/rounds/<int:round_id>/statistics")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def round_statistics(round_: Round):
    return _render(round_, "reports/statistics.html", **figures.statistics_view(db.session, round_))


#: What each export format is sent as.
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "ods": odsstream.MIMETYPE,
}


def _download(round_: Round, fmt: str) -> Response:
    """The report as data, streamed (see ``reports.exports``); a draft's file says so in its
    name and in every row."""
    draft = report_is_draft(round_)
    round_id = round_.id

    def body():
        with Session(db.engine) as session:  # its own, emptied chunk by chunk
            if fmt == "jsonl":
                yield from exports.jsonl(session, round_id, draft=draft)
                return
            rows = exports.csv_rows(session, round_id, draft=draft)
            if fmt == "csv":
                yield from csv_stream(exports.COLUMNS, rows)
            else:
                yield from odsstream.ods_stream(str(_("Observations")), exports.COLUMNS, rows)

    name = exports.filename(round_, fmt, draft=draft)
    return Response(
        stream_with_context(body()),
        content_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/rounds/<int:round_id>/export.<any(csv, jsonl):fmt>")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def export(round_: Round, fmt: str):
    return _download(round_, fmt)


@bp.get("/rounds/<int:round_id>/export.ods")
@require(is_staff, load=ROUND, visible=report_exists, allowed=can_read_report)
def export_ods(round_: Round):
    """The same rows as an open spreadsheet, for staff (to sort, filter and annotate)."""
    return _download(round_, "ods")


@bp.get("/rounds/<int:round_id>/exports/")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def exports_page(round_: Round):
    """Every download of the report: the data, streamed; the annex, made in the background
    (staff ask for it and follow its progress; the public finds the concluded round's)."""
    staff = is_staff(current_user)
    listed = jobs.round_jobs(db.session, round_, staff=staff)
    return _render(
        round_,
        "reports/exports.html",
        jobs=listed,
        formats=jobs.FORMATS,
        staff=staff,
        working=any(job.state in (JobState.QUEUED, JobState.RUNNING) for job in listed),
        languages=current_app.config["LANGUAGES"],
        states=JOB_STATES,
    )


JOB_STATES = {
    JobState.QUEUED: _l("waiting for the worker"),
    JobState.RUNNING: _l("being made"),
    JobState.DONE: _l("ready"),
    JobState.FAILED: _l("failed"),
    JobState.EXPIRED: _l("expired (the file was deleted)"),
}


@bp.post("/rounds/<int:round_id>/exports/annex")
@require(is_staff, load=ROUND, visible=report_exists, allowed=can_read_report)
def prepare_annex(round_: Round):
    fmt, language = request.form.get("format", ""), request.form.get("language", "")
    with commit_or_refuse() as attempt:
        job = jobs.request_annex(db.session, round_, fmt, language=language, actor=current_user)
    if attempt.done:
        flash(
            _(
                "The annex is being made (request %(id)d): this page shows when it is ready.",
                id=job.id,
            ),
            "success",
        )
    return redirect(url_for("reports.exports_page", round_id=round_.id), 303)


@bp.get("/rounds/<int:round_id>/exports/<int:job_id>")
@public
@require(anyone, load=ROUND, visible=report_exists, allowed=can_read_report)
def download_annex(round_: Round, job_id: int):
    job = db.session.get(ExportJob, job_id)
    if job is None or job.round_id != round_.id or not can_download_annex(current_user, job):
        abort(404)
    path = jobs.download_path(job)
    if path is None:
        abort(404)
    name = exports.filename(round_, job.format, draft=job.draft).replace(
        "controdeduzioni", f"allegato-{job.language}"
    )
    return send_file(
        path,
        mimetype=jobs.FORMATS[job.format]["mimetype"],
        as_attachment=True,
        download_name=name,
        etag=job.sha256,
        conditional=True,
        max_age=0,
    )


@bp.get("/rounds/<int:round_id>/exports/<int:job_id>/status")
@require(is_staff, load=ROUND, visible=report_exists, allowed=can_read_report)
def annex_status(round_: Round, job_id: int):
    """Where an annex job stands, for the exports page's script (staff only, as the jobs
    still on their way are)."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.round_id != round_.id:
        abort(404)
    label = str(JOB_STATES[job.state])
    if job.state is JobState.RUNNING and job.rows_total:
        label += " — " + _(
            "%(done)d of %(total)d observations", done=job.rows_done, total=job.rows_total
        )
    if job.state is JobState.FAILED and job.error:
        label += f" ({job.error})"
    facts = ""
    if job.state is JobState.DONE:
        kept = (
            _("kept until %(when)s", when=format_when(job.expires_at))
            if job.expires_at
            else _("kept until a newer one replaces it")
        )
        facts = f"{format_size(job.size or 0)} · {kept} · SHA-256 {job.sha256}"
    return {
        "state": job.state.value,
        "label": label,
        "done": job.rows_done,
        "total": job.rows_total,
        "finished": job.state not in (JobState.QUEUED, JobState.RUNNING),
        "facts": facts,
    }
