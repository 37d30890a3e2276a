"""Attachments through the web form: checked by content, stored, downloaded as attachments."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.observations.models import Attachment, Observation
from tests.fixtures.factories import csrf_token
from tests.observations.test_files import MINIMAL_PDF, odt_bytes
from tests.observations.test_submit import _new_form


def _send(scene, filename, data, action="save"):
    path, csrf, form_token = _new_form(scene.client, scene.round.id)
    return scene.client.post(
        path,
        data={
            "csrf_token": csrf,
            "form_token": form_token,
            "kind": "observation",
            "title": "Con allegato",
            "body": "Vedi allegato.",
            "action": action,
            "attachment": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def test_a_file_that_is_not_what_its_name_says_is_refused(db, scene):
    response = _send(scene, "relazione.pdf", b"<script>alert(1)</script>")
    assert response.status_code == 422
    assert "PDF, ODT o DOCX" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    # the text typed is kept as a draft all the same
    assert db.session.scalars(select(Observation)).one().title == "Con allegato"


def test_a_real_document_is_stored_and_downloaded_as_an_attachment(db, scene):
    response = _send(scene, "osservazioni del comune.odt", odt_bytes(), action="submit")
    assert response.status_code == 302
    observation = db.session.scalars(select(Observation)).one()
    [attachment] = observation.attachments
    assert attachment.content_type == "application/vnd.oasis.opendocument.text"
    assert attachment.filename == "osservazioni del comune.odt"
    download = scene.client.get(f"/observations/{observation.id}/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.data == odt_bytes() or len(download.data) == attachment.size


def test_an_oversized_file_is_refused(db, scene, config):
    config["ATTACHMENT_MAX_BYTES"] = 1000
    response = _send(scene, "grande.pdf", MINIMAL_PDF + b"0" * 5000)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_attachments_of_a_submitted_observation_cannot_be_removed(db, scene):
    _send(scene, "allegato.pdf", MINIMAL_PDF, action="submit")
    observation = db.session.scalars(select(Observation)).one()
    [attachment] = observation.attachments
    path = f"/observations/{observation.id}/attachments/{attachment.id}/remove"
    token = csrf_token(scene.client, f"/observations/{observation.id}/")
    scene.client.post(path, data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Attachment, attachment.id) is not None


def test_someone_else_cannot_download(db, app, scene, make_comune, make_referent):
    from tests.fixtures.factories import login

    _send(scene, "allegato.pdf", MINIMAL_PDF, action="submit")
    observation = db.session.scalars(select(Observation)).one()
    attachment_id = observation.attachments[0].id
    stranger = app.test_client()
    login(stranger, make_referent(make_comune()))
    response = stranger.get(f"/observations/{observation.id}/attachments/{attachment_id}")
    assert response.status_code == 404


def test_a_draft_and_its_files_are_its_authors_alone(db, app, scene, make_user, make_referent):
    """Issue 11, finding 5: staff (and colleagues) could download a draft's attachment."""
    from app.accounts.models import Role
    from app.observations import operations
    from tests.fixtures.factories import login

    _send(scene, "bozza.pdf", MINIMAL_PDF, action="save")
    observation = db.session.scalars(select(Observation)).one()
    assert observation.is_draft
    path = f"/observations/{observation.id}/attachments/{observation.attachments[0].id}"
    assert scene.client.get(path).status_code == 200  # the author
    colleague = make_referent(observation.organisation)
    for user in (make_user(Role.MODERATOR), make_user(Role.ADMIN), colleague):
        browser = app.test_client()
        login(browser, user)
        assert browser.get(path).status_code == 404, user.roles
        assert browser.get(f"/observations/{observation.id}/").status_code == 404, user.roles

    operations.submit(db.session, observation, actor=observation.author, send_receipt=False)
    db.session.commit()
    moderator = app.test_client()
    login(moderator, make_user(Role.MODERATOR))
    assert moderator.get(path).status_code == 200  # submitted: staff follow it
