"""The annex made in the background: asked for from the exports page, laid out by the worker,
kept under ``EXPORTS_DIR`` for ``EXPORT_RETENTION_HOURS``.

- :func:`request_annex` queues a job (or returns the one already queued or running for the same
  round, format, language and draft state: asking twice makes one file).
- The worker (:func:`run_due`, in every pass of ``flask worker run``) claims one queued job at
  a time — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, an atomic guarded UPDATE on SQLite, so two
  workers never take the same one — and writes the file into a temporary name beside its final
  one, flushed to disk, then renamed: a download finds the whole file or none. The progress
  (observations laid out of all) is saved after each chunk, with a heartbeat.
- A job whose worker stopped (no heartbeat for ``EXPORT_STALE_SECONDS``) is queued again, at
  most :data:`MAX_ATTEMPTS` times; a job that fails (a full disk, say) is marked failed with a
  message for staff and leaves no file.
- Expired files are deleted and their jobs marked expired.

Concluding a round queues its public PDF annex (see :func:`annex_on_conclusion`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.core import odtstream
from app.core.audit import record
from app.core.db import utcnow
from app.core.files import write_atomically
from app.core.i18n import lazy_gettext as _l
from app.core.refusals import Refusal
from app.reports import annex
from app.reports.models import ExportJob, JobState
from app.reports.permissions import report_is_draft
from app.rounds.models import Round

log = logging.getLogger(__name__)

#: The annex formats, what they are sent as, and whether only staff may have them (the ODT is
#: for staff to edit before the council).
FORMATS = {
    "pdf": {
        "label": _l("Annex (PDF/A)"),
        "write": annex.write_pdf,
        "mimetype": annex.PDF_MIMETYPE,
        "staff_only": False,
    },
    "odt": {
        "label": _l("Annex to edit (ODT)"),
        "write": annex.write_odt,
        "mimetype": odtstream.MIMETYPE,
        "staff_only": True,
    },
}
MAX_ATTEMPTS = 3
_PENDING = (JobState.QUEUED, JobState.RUNNING)


def exports_dir() -> Path:
    folder = Path(current_app.config["EXPORTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class AnnexError(Refusal):
    pass


def request_annex(session: Session, round_: Round, fmt: str, *, language: str, actor) -> ExportJob:
    """Queue the annex of ``round_`` in ``fmt`` (or return the same one already on its way)."""
    if fmt not in FORMATS or language not in current_app.config["LANGUAGES"]:
        raise AnnexError(_l("Choose one of the annex formats and languages offered."))
    draft = report_is_draft(round_)
    pending = session.scalar(
        select(ExportJob)
        .where(
            ExportJob.round_id == round_.id,
            ExportJob.format == fmt,
            ExportJob.language == language,
            ExportJob.draft == draft,
            ExportJob.state.in_(_PENDING),
        )
        .limit(1)
    )
    if pending is not None:
        return pending
    job = ExportJob(
        round_id=round_.id,
        format=fmt,
        language=language,
        draft=draft,
        requested_by_id=actor.id if actor is not None else None,
    )
    session.add(job)
    session.flush()
    record(session, "report.annex_requested", actor=actor, obj=job, round_id=round_.id, format=fmt)
    return job


def annex_on_conclusion(session: Session, round_: Round, actor=None) -> None:
    """Concluding a round queues its public annex, in the city's language."""
    language = current_app.config["BABEL_DEFAULT_LOCALE"]
    request_annex(session, round_, "pdf", language=language, actor=actor)


def release_stale(session: Session) -> int:
    """Jobs left running by a worker that stopped: queued again, or failed after
    :data:`MAX_ATTEMPTS` (a file is never half-made: the temporary one is gone with it)."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["EXPORT_STALE_SECONDS"])
    stale = (ExportJob.state == JobState.RUNNING) & (ExportJob.heartbeat_at < cutoff)
    failed = session.execute(
        update(ExportJob)
        .where(stale, ExportJob.attempts >= MAX_ATTEMPTS)
        .values(
            state=JobState.FAILED,
            finished_at=utcnow(),
            error="The worker stopped while making the file, too many times.",
        )
    ).rowcount
    queued = session.execute(
        update(ExportJob)
        .where(stale, ExportJob.attempts < MAX_ATTEMPTS)
        .values(state=JobState.QUEUED, claimed_by=None)
    ).rowcount
    return (failed or 0) + (queued or 0)


def claim_next(session: Session, worker: str) -> ExportJob | None:
    """Mark the oldest queued job as ours and return it (exactly one worker gets each)."""
    now = utcnow()
    oldest = (
        select(ExportJob.id)
        .where(ExportJob.state == JobState.QUEUED)
        .order_by(ExportJob.requested_at, ExportJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(ExportJob)
        .where(ExportJob.id.in_(oldest), ExportJob.state == JobState.QUEUED)
        .values(
            state=JobState.RUNNING,
            claimed_by=worker,
            heartbeat_at=now,
            attempts=ExportJob.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return session.scalar(
        select(ExportJob)
        .where(ExportJob.claimed_by == worker, ExportJob.state == JobState.RUNNING)
        .order_by(ExportJob.id)
        .limit(1)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def run(session: Session, job: ExportJob) -> None:
    """Make the job's file (the data are read in a session of their own, emptied chunk by
    chunk; ``session`` keeps the job and saves its progress)."""
    from app.extensions import db

    spec = FORMATS[job.format]
    name = f"{job.id}-{secrets.token_hex(8)}.{job.format}"
    path = exports_dir() / name

    def progress(done: int, total: int | None) -> None:
        job.rows_done, job.rows_total, job.heartbeat_at = done, total, utcnow()
        session.commit()

    try:
        with Session(db.engine) as data:
            digest = write_atomically(
                path,
                lambda out: spec["write"](
                    data,
                    job.round_id,
                    draft=job.draft,
                    out=out,
                    language=job.language,
                    progress=progress,
                ),
            )
    except Exception as error:  # a full disk, a broken text: the job says so, the worker goes on
        session.rollback()
        log.exception("export job %s failed", job.id)
        job.state, job.finished_at = JobState.FAILED, utcnow()
        job.error = f"The file could not be made ({type(error).__name__})."[:300]
        record(session, "report.annex_failed", obj=job, round_id=job.round_id)
        session.commit()
        return
    now = utcnow()
    later = now + timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])
    job.state, job.finished_at = JobState.DONE, now
    if job.draft or FORMATS[job.format]["staff_only"]:
        job.expires_at = later
    else:
        # the public annex of a concluded round stays until a newer one replaces it
        job.expires_at = None
        session.execute(
            update(ExportJob)
            .where(
                ExportJob.round_id == job.round_id,
                ExportJob.format == job.format,
                ExportJob.language == job.language,
                ExportJob.draft.is_(False),
                ExportJob.state == JobState.DONE,
                ExportJob.expires_at.is_(None),
                ExportJob.id != job.id,
            )
            .values(expires_at=later)
        )
    job.stored_name, job.size, job.sha256 = name, path.stat().st_size, _sha256(path)
    job.data_digest = digest
    record(session, "report.annex_made", obj=job, round_id=job.round_id, format=job.format)
    session.commit()


def expire(session: Session) -> int:
    """Delete the files past their time; their jobs say so."""
    now = utcnow()
    jobs = session.scalars(
        select(ExportJob)
        .where(ExportJob.state == JobState.DONE, ExportJob.expires_at <= now)
        .limit(100)
    ).all()
    folder = exports_dir()
    for job in jobs:
        if job.stored_name:
            (folder / job.stored_name).unlink(missing_ok=True)
        job.state = JobState.EXPIRED
    session.commit()
    return len(jobs)


def run_due(session: Session, *, worker: str) -> dict:
    """One pass of the worker: release stale jobs, make at most one file, delete expired ones."""
    counts = {"exports stale": release_stale(session)}
    session.commit()
    job = claim_next(session, worker)
    if job is not None:
        run(session, job)
    counts["exports made"] = int(job is not None and job.state is JobState.DONE)
    counts["exports expired"] = expire(session)
    return counts


def download_path(job: ExportJob) -> Path | None:
    """The file of a finished job, if it is still there."""
    if job.state is not JobState.DONE or not job.stored_name:
        return None
    if job.expires_at is not None and job.expires_at <= utcnow():
        return None
    path = exports_dir() / job.stored_name
    return path if path.is_file() else None


def round_jobs(session: Session, round_: Round, *, staff: bool) -> list[ExportJob]:
    """The round's annex jobs the exports page lists, newest first: every one for staff; for
    the public, the finished, unexpired, public-format ones of the concluded round."""
    query = select(ExportJob).where(ExportJob.round_id == round_.id)
    if not staff:
        public = [f for f, spec in FORMATS.items() if not spec["staff_only"]]
        query = query.where(
            ExportJob.state == JobState.DONE,
            ExportJob.draft.is_(False),
            ExportJob.format.in_(public),
            or_(ExportJob.expires_at.is_(None), ExportJob.expires_at > utcnow()),
        )
    return list(session.scalars(query.order_by(ExportJob.id.desc()).limit(20)))
