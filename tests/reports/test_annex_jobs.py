"""The annex made in the background: staff ask for it on the exports page (CSRF, one job for
two requests), the worker makes the file whole or not at all, the page and its status show the
progress, the file is kept for its time; concluding a round queues its public annex."""

from __future__ import annotations

import errno
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.reports import jobs
from app.reports.models import ExportJob, JobState
from app.rounds import operations as rounds
from tests.fixtures.factories import csrf_token, login


@pytest.fixture(autouse=True)
def exports_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    monkeypatch.setitem(app.config, "EXPORTS_DIR", str(folder))
    return folder


def _page(scene) -> str:
    return f"/reports/rounds/{scene.round.id}/exports/"


def _ask(client, scene, fmt="pdf", language="it"):
    token = csrf_token(client, _page(scene))
    return client.post(
        f"{_page(scene)}annex", data={"format": fmt, "language": language, "csrf_token": token}
    )


def _jobs(db) -> list[ExportJob]:
    db.session.expire_all()
    return list(db.session.scalars(select(ExportJob).order_by(ExportJob.id)))


def test_staff_ask_once_and_the_worker_makes_the_whole_file(db, client, scene, exports_dir):
    login(client, scene.moderator)
    answer = _ask(client, scene)
    assert answer.status_code == 303
    assert "in preparazione" in client.get(answer.headers["Location"]).get_data(as_text=True)
    _ask(client, scene)  # asking again while it waits makes no second file
    [job] = _jobs(db)
    assert (job.state, job.format, job.language, job.draft) == (JobState.QUEUED, "pdf", "it", True)
    assert db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "report.annex_requested")
    )

    counts = jobs.run_due(db.session, worker="w1")
    assert counts["exports made"] == 1
    [job] = _jobs(db)
    assert job.state is JobState.DONE and job.rows_done == job.rows_total == 4
    [stored] = list(exports_dir.iterdir())  # the file, no temporary one beside it
    assert job.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    jsonl = client.get(f"/reports/rounds/{scene.round.id}/export.jsonl").get_data()
    assert job.data_digest == hashlib.sha256(jsonl).hexdigest()

    page = client.get(_page(scene)).get_data(as_text=True)
    assert "pronto" in page and job.sha256 in page
    download = client.get(f"{_page(scene)}{job.id}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.get_data().startswith(b"%PDF-")
    assert "bozza.pdf" in download.headers["Content-Disposition"]
    status = client.get(f"{_page(scene)}{job.id}/status").get_json()
    assert status["state"] == "done" and status["finished"] and job.sha256 in status["facts"]


def test_only_staff_may_ask_and_bad_choices_change_nothing(db, client, scene, make_user):
    login(client, scene.referent)
    assert client.get(_page(scene)).status_code == 403  # the report is a draft
    staff = client.application.test_client()
    login(staff, scene.moderator)
    token = csrf_token(staff, _page(scene))
    assert client.post(
        f"{_page(scene)}annex", data={"format": "pdf", "csrf_token": token}
    ).status_code in (
        400,
        403,
    )
    answer = _ask(staff, scene, fmt="docx")
    assert answer.status_code == 303
    assert "Scegli uno dei formati" in staff.get(_page(scene)).get_data(as_text=True)
    assert _ask(staff, scene, language="de").status_code == 303
    no_token = staff.post(f"{_page(scene)}annex", data={"format": "pdf", "language": "it"})
    assert no_token.status_code == 400
    assert _jobs(db) == []


def test_concluding_queues_the_public_annex_which_anyone_may_download(
    db, app, client, scene, make_user
):
    admin = make_user(Role.ADMIN)
    for action in ("close", "start_review"):
        rounds.change_state(db.session, scene.round, action, actor=admin)
    rounds.change_state(db.session, scene.round, "conclude", actor=admin, override_reason="Ok.")
    db.session.commit()
    [public] = _jobs(db)
    assert (public.format, public.draft, public.language) == ("pdf", False, "it")
    odt = jobs.request_annex(db.session, scene.round, "odt", language="it", actor=admin)
    db.session.commit()
    jobs.run_due(db.session, worker="w1")
    jobs.run_due(db.session, worker="w1")
    public, odt = _jobs(db)
    assert public.state is odt.state is JobState.DONE
    assert public.expires_at is None and odt.expires_at is not None  # the public one stays

    page = client.get(_page(scene)).get_data(as_text=True)  # not logged in
    assert f"{_page(scene)}{public.id}" in page and f"{_page(scene)}{odt.id}" not in page
    assert client.get(f"{_page(scene)}{public.id}").status_code == 200
    assert client.get(f"{_page(scene)}{odt.id}").status_code == 404
    assert client.get(f"{_page(scene)}{public.id}/status").status_code == 302  # staff only
    staff = app.test_client()
    login(staff, scene.moderator)
    download = staff.get(f"{_page(scene)}{odt.id}")
    assert download.status_code == 200 and download.mimetype.endswith("opendocument.text")
    assert "bozza" not in download.headers["Content-Disposition"]


def test_a_full_disk_fails_the_job_and_leaves_no_file(db, scene, exports_dir, monkeypatch):
    def full(session, round_id, *, out, **_options):
        out.write(b"%PDF-1.7 the start of it")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(jobs.FORMATS["pdf"], "write", full)
    job = jobs.request_annex(db.session, scene.round, "pdf", language="it", actor=scene.moderator)
    db.session.commit()
    counts = jobs.run_due(db.session, worker="w1")
    [job] = _jobs(db)
    assert counts["exports made"] == 0
    assert job.state is JobState.FAILED and "OSError" in job.error
    assert list(exports_dir.iterdir()) == []
    assert jobs.download_path(job) is None


def test_a_silent_worker_loses_its_job_and_three_tries_are_the_most(db, scene):
    job = jobs.request_annex(db.session, scene.round, "odt", language="en", actor=None)
    db.session.commit()
    assert jobs.claim_next(db.session, "w1").id == job.id
    assert jobs.claim_next(db.session, "w2") is None  # one worker per job
    job.heartbeat_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert jobs.release_stale(db.session) == 1
    db.session.commit()
    [job] = _jobs(db)
    assert job.state is JobState.QUEUED and job.attempts == 1
    job.state, job.attempts = JobState.RUNNING, jobs.MAX_ATTEMPTS
    job.heartbeat_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    jobs.release_stale(db.session)
    db.session.commit()
    [job] = _jobs(db)
    assert job.state is JobState.FAILED


def test_an_expired_file_is_deleted_and_no_longer_offered(db, client, scene, exports_dir):
    job = jobs.request_annex(db.session, scene.round, "odt", language="it", actor=None)
    db.session.commit()
    jobs.run_due(db.session, worker="w1")
    [job] = _jobs(db)
    path = Path(exports_dir / job.stored_name)
    assert path.is_file()
    job.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert jobs.run_due(db.session, worker="w1")["exports expired"] == 1
    [job] = _jobs(db)
    assert job.state is JobState.EXPIRED and not path.exists()
    login(client, scene.moderator)
    assert client.get(f"{_page(scene)}{job.id}").status_code == 404
    assert "scaduto" in client.get(_page(scene)).get_data(as_text=True)


def test_a_job_of_another_round_is_not_found_here(db, client, scene, make_round):
    other = make_round()
    job = jobs.request_annex(db.session, other, "pdf", language="it", actor=None)
    db.session.commit()
    login(client, scene.moderator)
    assert client.get(f"{_page(scene)}{job.id}").status_code == 404
    assert client.get(f"{_page(scene)}{job.id}/status").status_code == 404
    assert client.get(f"{_page(scene)}99999999999").status_code == 404
