"""Drafts: a new form sent empty (or with only a refused file) makes no draft and reports every
missing field at once; authors delete their own drafts (asked first, audited); an amendment on a
section or on the whole plan has its replacement text."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.observations.models import Observation, ObservationKind, ObservationState
from tests.fixtures.factories import csrf_token, login
from tests.observations.test_submit import _observations, _post_new

EMPTY = {"title": "", "body": ""}


def test_an_empty_submit_makes_no_draft_and_names_every_missing_field(db, scene):
    response, _, _ = _post_new(scene.client, scene.round.id, data=EMPTY)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    assert 'href="#title"' in summary and "Dai un titolo" in summary
    assert 'href="#body"' in summary and "Scrivi l&#39;osservazione" in summary
    assert "autofocus" in page.split('id="form-errors"')[1].split(">")[0]
    assert _observations(db) == []


def test_an_empty_amendment_also_asks_for_its_text(db, scene):
    data = {**EMPTY, "kind": "amendment"}
    response, _, _ = _post_new(scene.client, scene.round.id, data=data)
    summary = response.get_data(as_text=True).split('id="form-errors"')[1].split("</div>")[0]
    assert summary.count("<li>") == 3 and 'href="#proposed_text"' in summary
    assert _observations(db) == []


def test_saving_an_empty_form_makes_no_draft(db, scene):
    response, _, _ = _post_new(scene.client, scene.round.id, action="save", data=EMPTY)
    assert response.status_code == 422
    assert "Non c&#39;è ancora nulla da salvare" in response.get_data(as_text=True)
    assert _observations(db) == []


def test_a_refused_file_alone_makes_no_draft(db, scene):
    data = {**EMPTY, "attachment": (io.BytesIO(b"not a pdf at all"), "nota.pdf")}
    response, _, _ = _post_new(scene.client, scene.round.id, action="save", data=data)
    assert response.status_code == 422
    assert 'id="attachment-error"' in response.get_data(as_text=True)
    assert _observations(db) == []


def test_typed_text_is_kept_when_the_file_is_refused(db, scene):
    data = {"attachment": (io.BytesIO(b"not a pdf at all"), "nota.pdf")}
    response, _, _ = _post_new(scene.client, scene.round.id, action="save", data=data)
    assert response.status_code == 422
    [draft] = _observations(db)
    assert draft.state is ObservationState.DRAFT and draft.title == "Più trasporto pubblico"


def _draft(db, scene):
    _post_new(scene.client, scene.round.id, action="save")
    [draft] = _observations(db)
    return draft


def test_an_author_deletes_a_draft_after_confirming(db, scene):
    draft_id = _draft(db, scene).id
    edit = f"/observations/{draft_id}/edit"
    assert f'action="/observations/{draft_id}/delete"' in scene.client.get(edit).get_data(
        as_text=True
    )
    token = csrf_token(scene.client, edit)
    response = scene.client.post(f"/observations/{draft_id}/delete", data={"csrf_token": token})
    assert response.status_code == 200 and "Questa azione non si può annullare." in (
        response.get_data(as_text=True)
    )
    assert len(_observations(db)) == 1
    response = scene.client.post(
        f"/observations/{draft_id}/delete", data={"csrf_token": token, "confirmed": "1"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/observations/mine"
    assert _observations(db) == []
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "observation.draft_deleted")
    ).one()
    assert entry.actor_id == scene.referent.id and entry.object_id == str(draft_id)


def test_nobody_else_deletes_a_draft_and_a_registered_one_stays(
    app, db, scene, make_user, make_observation
):
    draft = _draft(db, scene)
    other = app.test_client()
    login(other, make_user(Role.STAKEHOLDER, organisation=scene.organisation))
    token = csrf_token(other, "/observations/mine")
    data = {"csrf_token": token, "confirmed": "1"}
    assert other.post(f"/observations/{draft.id}/delete", data=data).status_code == 404
    registered = make_observation(scene.round, scene.referent)
    token = csrf_token(scene.client, "/observations/mine")
    data = {"csrf_token": token, "confirmed": "1"}
    response = scene.client.post(f"/observations/{registered.id}/delete", data=data)
    assert response.status_code == 302
    assert db.session.get(Observation, registered.id).state is ObservationState.SUBMITTED
    assert len(_observations(db)) == 2


def test_an_amendment_on_a_section_or_the_plan_has_its_replacement_text(db, scene):
    section = scene.section(db)
    for params in ({"section": section.key}, {}):
        path = f"/rounds/{scene.round.id}/observations/new"
        page = scene.client.get(path, query_string=params).get_data(as_text=True)
        assert re.search(r'<textarea[^>]*name="proposed_text"', page), params
    data = {"kind": "amendment", "proposed_text": "Nuovo testo della sezione."}
    response, _, _ = _post_new(scene.client, scene.round.id, data=data, section=section.key)
    assert response.status_code == 302
    [observation] = _observations(db)
    assert observation.kind is ObservationKind.AMENDMENT
    assert observation.proposed_text == "Nuovo testo della sezione."
