"""A round's response version: started from the round page or chosen among the successors of
the consulted version; any other version is refused; audited; for editors only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.plans import operations as plan_operations
from app.rounds import operations
from app.rounds.models import Round, RoundError, RoundState
from tests.fixtures.factories import csrf_token


def test_an_editor_starts_the_response_version_from_the_round_page(db, logged_in, make_round):
    round_ = make_round(state=RoundState.CLOSED)
    client, _user = logged_in(Role.EDITOR)
    page = client.get(f"/rounds/{round_.id}/").get_data(as_text=True)
    assert "Avvia la versione di risposta" in page
    token = csrf_token(client, f"/rounds/{round_.id}/")
    response = client.post(
        f"/rounds/{round_.id}/response-version",
        data={"csrf_token": token, "action": "start", "label": "Testo controdedotto"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    found = db.session.get(Round, round_.id)
    response_version = found.response_version
    assert response_version.predecessor_id == round_.plan_version_id
    assert (response_version.label, response_version.is_draft) == ("Testo controdedotto", True)
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "round.response_version_set")
    ).one()
    assert str(entry.details["version_id"]) == str(response_version.id)
    page = client.get(f"/rounds/{round_.id}/").get_data(as_text=True)
    assert "Testo controdedotto" in page and "Avvia la versione di risposta" not in page


def test_choosing_an_existing_successor_and_refusing_any_other_version(
    db, make_round, make_version, make_successor
):
    round_ = make_round(state=RoundState.IN_REVIEW)
    successor = make_successor(round_.version)
    unrelated = make_version()
    with pytest.raises(RoundError, match="versione successiva"):
        operations.set_response_version(db.session, round_, unrelated)
    with pytest.raises(RoundError):
        operations.set_response_version(db.session, round_, round_.version)
    db.session.rollback()
    operations.set_response_version(db.session, round_, successor)
    db.session.commit()
    assert db.session.get(Round, round_.id).response_version_id == successor.id
    # a version two steps away is not a successor either
    plan_operations.freeze_version(db.session, successor)
    later = make_successor(successor)
    with pytest.raises(RoundError):
        operations.set_response_version(db.session, round_, later)


def test_the_choice_through_the_page_refuses_another_version(
    db, logged_in, make_round, make_successor
):
    round_ = make_round(state=RoundState.OPEN)
    successor = make_successor(round_.version)
    client, _user = logged_in(Role.EDITOR)
    token = csrf_token(client, f"/rounds/{round_.id}/")
    url = f"/rounds/{round_.id}/response-version"
    client.post(url, data={"csrf_token": token, "action": "choose", "version": "1"})
    db.session.expire_all()
    assert db.session.get(Round, round_.id).response_version_id is None
    client.post(url, data={"csrf_token": token, "action": "choose", "version": "2"})
    db.session.expire_all()
    assert db.session.get(Round, round_.id).response_version_id == successor.id


@pytest.mark.parametrize(
    ("role", "state", "status"),
    [
        (Role.MODERATOR, RoundState.CLOSED, 403),
        (Role.STAKEHOLDER, RoundState.CLOSED, 403),
        (Role.EDITOR, RoundState.SCHEDULED, 403),
        (Role.EDITOR, RoundState.CONCLUDED, 403),
    ],
)
def test_who_may_set_the_response_version(db, logged_in, make_round, role, state, status):
    round_ = make_round(state=state)
    client, _user = logged_in(role)
    token = csrf_token(client, "/rounds/")
    response = client.post(
        f"/rounds/{round_.id}/response-version",
        data={"csrf_token": token, "action": "start", "label": "X"},
    )
    assert response.status_code == status
    db.session.expire_all()
    assert db.session.get(Round, round_.id).response_version_id is None
