"""Annex files made in the background: a staff member asks for the PDF/A or ODT annex of a
round, the worker lays it out (minutes for a large round) and stores the file under
``EXPORTS_DIR``; the exports page shows its progress and then a download link, until the file
expires (``EXPORT_RETENTION_HOURS``)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, enum_type, utcnow


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


class ExportJob(Base):
    __tablename__ = "export_jobs"
    __table_args__ = (
        Index("ix_export_jobs_state_requested", "state", "requested_at"),
        Index("ix_export_jobs_round_format", "round_id", "format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    #: ``pdf`` or ``odt`` (``reports.jobs.FORMATS``).
    format: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    #: Made while the round was not concluded: marked as a draft, for staff only.
    draft: Mapped[bool] = mapped_column(default=True)
    state: Mapped[JobState] = mapped_column(
        enum_type(JobState, "export_job_state"), default=JobState.QUEUED
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Which worker holds the job, and when it last said it was alive.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The file's name under EXPORTS_DIR (never taken from a request).
    stored_name: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    #: SHA-256 of the file itself, and of the JSON Lines export it was made from.
    sha256: Mapped[str | None] = mapped_column(String(64))
    data_digest: Mapped[str | None] = mapped_column(String(64))
    #: What went wrong, in words for staff (no trace, no path).
    error: Mapped[str | None] = mapped_column(String(300))
