"""Every irreversible action asks first on a page of its own (no JavaScript needed), says
what cannot be undone, changes nothing until confirmed, and can be cancelled."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.api.models import ApiToken
from app.observations.models import Observation, ObservationState
from app.plans.models import VersionStatus
from app.rounds.models import RoundState
from app.stakeholders.models import Invitation, InvitationState
from tests.fixtures.factories import csrf_token


def _asks(response, *phrases):
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Questa azione non si può annullare." in page
    assert 'name="confirmed" value="1"' in page
    assert "Annulla, non cambiare nulla" in page
    for phrase in phrases:
        assert phrase in page, phrase
    return page


def _hidden(page: str) -> dict:
    form = page.split('class="confirm-form"')[1].split("</form>")[0]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_freezing_a_version_asks_first(db, logged_in, make_version):
    client, _ = logged_in(Role.EDITOR)
    version = make_version()
    slug = version.plan.slug
    token = csrf_token(client, f"/plans/{slug}/")
    response = client.post(
        f"/plans/{slug}/v1/state", data={"csrf_token": token, "transition": "freeze"}
    )
    page = _asks(response, "non potrà più essere modificato")
    db.session.expire_all()
    assert version.status is VersionStatus.DRAFT
    response = client.post(f"/plans/{slug}/v1/state", data=_hidden(page))
    assert response.status_code == 302
    db.session.expire_all()
    assert version.status is VersionStatus.FROZEN

    response = client.post(
        f"/plans/{slug}/v1/state", data={"csrf_token": token, "transition": "adopt"}
    )
    _asks(response, "adottato")
    db.session.expire_all()
    assert version.status is VersionStatus.FROZEN


@pytest.mark.parametrize("action", ["close", "start_review", "conclude"])
def test_round_changes_that_cannot_be_undone_ask_first(db, logged_in, make_round, action):
    state = {"close": RoundState.OPEN, "start_review": RoundState.CLOSED}.get(
        action, RoundState.IN_REVIEW
    )
    round_ = make_round(state=state)
    client, _ = logged_in(Role.MODERATOR)
    token = csrf_token(client, f"/rounds/{round_.id}/")
    response = client.post(
        f"/rounds/{round_.id}/state", data={"csrf_token": token, "action": action}
    )
    page = _asks(response, round_.title)
    db.session.expire_all()
    assert round_.state is state
    assert client.post(f"/rounds/{round_.id}/state", data=_hidden(page)).status_code == 302
    db.session.expire_all()
    assert round_.state is not state


def test_scheduling_is_undoable_and_does_not_ask(db, logged_in, make_round):
    round_ = make_round(state=RoundState.DRAFT)
    client, _ = logged_in(Role.MODERATOR)
    token = csrf_token(client, f"/rounds/{round_.id}/")
    response = client.post(
        f"/rounds/{round_.id}/state", data={"csrf_token": token, "action": "schedule"}
    )
    assert response.status_code == 302


def test_withdrawing_asks_for_the_reason_on_the_confirmation(db, scene, make_observation):
    observation = make_observation(scene.round, scene.referent)
    receipt = scene.client.get(f"/observations/{observation.id}/").get_data(as_text=True)
    withdraw = receipt.split('/withdraw"')[1].split("</form>")[0]
    assert "reason" not in withdraw, "the reason is asked on the confirmation page"
    token = csrf_token(scene.client, f"/observations/{observation.id}/")
    response = scene.client.post(
        f"/observations/{observation.id}/withdraw", data={"csrf_token": token}
    )
    page = _asks(response, "resta agli atti come ritirata", "Motivo")
    assert re.search(r'<textarea[^>]*name="reason"', page)
    db.session.expire_all()
    assert observation.state is ObservationState.SUBMITTED
    too_long = {**_hidden(page), "reason": "x" * 2001}
    response = scene.client.post(f"/observations/{observation.id}/withdraw", data=too_long)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert observation.state is ObservationState.SUBMITTED
    data = {**_hidden(page), "reason": "Inviata per errore"}
    response = scene.client.post(f"/observations/{observation.id}/withdraw", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.scalars(select(Observation)).one()
    assert stored.state is ObservationState.WITHDRAWN
    assert stored.withdrawal_reason == "Inviata per errore"


def test_revoking_a_token_asks_first(db, logged_in, make_token):
    token, _ = make_token()
    client, _admin = logged_in(Role.ADMIN)
    csrf = csrf_token(client, "/admin/api-tokens/")
    page = _asks(client.post(f"/admin/api-tokens/{token.id}/revoke", data={"csrf_token": csrf}))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    client.post(f"/admin/api-tokens/{token.id}/revoke", data=_hidden(page))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_revoking_an_invitation_asks_first(db, staff_client, make_comune):
    from tests.stakeholders.test_invitations import _invite

    client, _ = staff_client
    _invite(client, make_comune(), "nope@example.org")
    invitation = db.session.scalars(select(Invitation)).one()
    token = csrf_token(client, "/registry/invitations")
    path = f"/registry/invitations/{invitation.id}/revoke"
    page = _asks(client.post(path, data={"csrf_token": token}), "nope@example.org")
    assert 'href="/registry/invitations"' in page.split("confirm-form")[1]
    db.session.expire_all()
    assert invitation.state is InvitationState.PENDING
    client.post(path, data=_hidden(page))
    db.session.expire_all()
    assert invitation.state is InvitationState.REVOKED


def test_deleting_a_paragraph_of_a_draft_asks_first(db, logged_in, make_version):
    from app.plans.models import Paragraph
    from app.plans.tree import load_tree

    client, _ = logged_in(Role.EDITOR)
    version = make_version()
    paragraph = next(p for _, p in load_tree(db.session, version).paragraphs())
    base = f"/plans/{version.plan.slug}/v1/edit"
    token = csrf_token(client, f"{base}/s/{paragraph.section.key}")
    path = f"{base}/p/{paragraph.key}/action"
    page = _asks(client.post(path, data={"csrf_token": token, "action": "delete"}), paragraph.text)
    assert db.session.get(Paragraph, paragraph.id) is not None
    paragraph_id = paragraph.id
    assert client.post(path, data=_hidden(page)).status_code == 302
    db.session.expire_all()
    assert db.session.get(Paragraph, paragraph_id) is None
