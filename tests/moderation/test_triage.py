"""Triage: the state machine, who may take each step, the history, locks and the trace page."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.moderation import operations
from app.moderation.models import (
    TRANSITIONS,
    Conflict,
    ModerationError,
    Triage,
    TriageState,
    TriageTransition,
)
from app.observations import operations as observations
from app.observations import receipts
from app.rounds.models import RoundState
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


def _put(db, observation, state: TriageState) -> Triage:
    """Set a triage state directly (the starting point of a transition test)."""
    db.session.execute(
        update(Triage)
        .where(Triage.observation_id == observation.id)
        .values(state=state, reason="Fuori tema" if state is TriageState.NOT_ADMISSIBLE else None)
    )
    db.session.commit()
    return triage_of(observation)


def test_registration_opens_the_triage_with_its_first_history_row(db, registered):
    [observation] = registered()
    triage = triage_of(observation)
    assert triage.state is TriageState.RECEIVED and triage.lock_version == 1
    [first] = db.session.scalars(select(TriageTransition)).all()
    assert (first.action, first.from_state, first.to_state) == ("receive", None, "received")


def test_staff_intake_opens_the_triage_too(db, make_round, make_comune, make_user):
    from datetime import timedelta

    from app.core.db import utcnow
    from app.observations.models import Channel, ObservationKind, Target
    from tests.observations.test_files import MINIMAL_PDF as PDF_BYTES

    round_ = make_round()
    observation = observations.record_intake(
        db.session,
        round_,
        actor=make_user(Role.MODERATOR),
        organisation=make_comune(),
        channel=Channel.PEC,
        received_at=utcnow() - timedelta(hours=1),
        signatory=None,
        anchor=observations.Anchor(Target.PLAN),
        kind=ObservationKind.OBSERVATION,
        title="Lettera",
        body_html="<p>Testo</p>",
        proposed_text=None,
        consent_public_name=False,
        originals=[("lettera.pdf", PDF_BYTES)],
    )
    db.session.commit()
    assert triage_of(observation).state is TriageState.RECEIVED


def test_a_draft_has_no_triage(db, make_round, make_comune, make_referent, make_observation):
    draft = make_observation(make_round(), make_referent(make_comune()), submit=False)
    assert db.session.get(Triage, draft.id) is None


CASES = [(action, state) for action in TRANSITIONS for state in TriageState]


@pytest.mark.parametrize(("action", "state"), CASES)
def test_every_transition_from_every_state(db, registered, make_user, action, state):
    [observation] = registered()
    triage = _put(db, observation, state)
    actor = make_user(Role.ADMIN)  # holds every permission: only the state decides here
    allowed, target = TRANSITIONS[action]
    change = lambda: operations.transition(  # noqa: E731
        db.session, triage, action, actor=actor, seen_lock=triage.lock_version, reason="Fuori tema"
    )
    if state in allowed:
        step = change()
        db.session.commit()
        assert triage_of(observation).state is target
        assert (step.from_state, step.to_state, step.actor_id) == (state, target, actor.id)
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == f"triage.{action}")
        ).all()
        assert entry.object_id == str(observation.id) and entry.actor_id == actor.id
        assert entry.details == {
            "round_id": observation.round_id,
            "from_state": state.value,
            "to_state": target.value,
            "transition_id": step.id,
        }
    else:
        with pytest.raises(ModerationError):
            change()
        db.session.rollback()
        assert triage_of(observation).state is state


#: Who may take each action (the round is open).
MAY = {
    "admit": {Role.ADMIN, Role.MODERATOR},
    "reject": {Role.ADMIN, Role.MODERATOR},
    "reopen": {Role.ADMIN, Role.MODERATOR},
    "assign": {Role.ADMIN, Role.MODERATOR},
    "unassign": {Role.ADMIN, Role.MODERATOR},
    "decide": {Role.ADMIN, Role.EDITOR},
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_who_may_take_each_action(db, registered, make_user, action, role):
    [observation] = registered()
    start = next(iter(sorted(TRANSITIONS[action][0])))
    triage = _put(db, observation, start)
    actor = make_user(role)
    change = lambda: operations.transition(  # noqa: E731
        db.session, triage, action, actor=actor, seen_lock=triage.lock_version, reason="Fuori tema"
    )
    if role in MAY[action]:
        change()
        db.session.commit()
        assert triage_of(observation).state is TRANSITIONS[action][1]
    else:
        with pytest.raises(ModerationError):
            change()
        db.session.rollback()
        assert triage_of(observation).state is start


def test_a_concluded_round_is_read_only(db, registered, make_round, moderator):
    round_ = make_round()
    [observation] = registered(round_=round_)
    round_.state = RoundState.CONCLUDED
    db.session.commit()
    triage = triage_of(observation)
    with pytest.raises(ModerationError):
        operations.transition(db.session, triage, "admit", actor=moderator, seen_lock=1)


def test_not_admissible_needs_a_reason_and_keeps_it_out_of_the_audit(db, registered, moderator):
    [observation] = registered()
    triage = triage_of(observation)
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(ModerationError) as refused:
            operations.transition(
                db.session, triage, "reject", actor=moderator, seen_lock=1, reason=reason
            )
        assert refused.value.field == "reason"
        db.session.rollback()
    operations.transition(
        db.session, triage, "reject", actor=moderator, seen_lock=1, reason=" Fuori  tema "
    )
    db.session.commit()
    triage = triage_of(observation)
    assert (triage.state, triage.reason) == (TriageState.NOT_ADMISSIBLE, "Fuori tema")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "triage.reject"))
    assert "Fuori" not in str(entry.details)
    # admitted again: the reason goes (and stays in the history)
    operations.transition(db.session, triage, "admit", actor=moderator, seen_lock=2)
    db.session.commit()
    assert triage_of(observation).reason is None
    reasons = db.session.scalars(select(TriageTransition.reason)).all()
    assert reasons == [None, "Fuori tema", None]


def test_a_withdrawn_observation_is_not_triaged(db, registered, moderator):
    [observation] = registered()
    observations.withdraw(db.session, observation, user=observation.author, reason="")
    db.session.commit()
    with pytest.raises(ModerationError):
        operations.transition(
            db.session, triage_of(observation), "admit", actor=moderator, seen_lock=1
        )


def test_a_page_older_than_the_row_is_a_conflict(db, registered, moderator):
    [observation] = registered()
    triage = triage_of(observation)
    for seen in (None, 0, 2):
        with pytest.raises(Conflict):
            operations.transition(db.session, triage, "admit", actor=moderator, seen_lock=seen)
        db.session.rollback()
    assert triage_of(observation).state is TriageState.RECEIVED


def test_a_change_meeting_a_newer_one_at_the_database_is_a_conflict(db, registered, moderator):
    [observation] = registered()
    triage = triage_of(observation)
    # another moderator's change lands between our read and our write
    with db.engine.begin() as other:
        other.execute(
            text(
                "UPDATE triage SET state = 'admissible', lock_version = 2 WHERE observation_id = :i"
            ),
            {"i": observation.id},
        )
    with pytest.raises(Conflict):
        operations.transition(
            db.session, triage, "reject", actor=moderator, seen_lock=1, reason="Fuori tema"
        )
    db.session.rollback()
    triage = triage_of(observation)
    assert (triage.state, triage.reason) == (TriageState.ADMISSIBLE, None)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "triage.reject")) is None


# Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_item_page(db, client, registered, make_user, role):
    [observation] = registered()
    login(client, make_user(role))
    response = client.get(f"/moderation/observations/{observation.id}")
    assert response.status_code == (200 if role in (Role.ADMIN, Role.MODERATOR) else 403)
    response = client.post(
        f"/moderation/observations/{observation.id}/triage",
        data={"csrf_token": csrf_token(client, "/track"), "action": "admit", "lock_version": 1},
    )
    if role in (Role.ADMIN, Role.MODERATOR):
        assert response.status_code == 303
        assert triage_of(observation).state is TriageState.ADMISSIBLE
    else:
        assert response.status_code == 403
        assert triage_of(observation).state is TriageState.RECEIVED


def test_an_unknown_observation_is_not_found_for_a_moderator(client, moderator):
    login(client, moderator)
    assert client.get("/moderation/observations/999999").status_code == 404


def test_two_moderators_on_the_same_item(db, client, app, registered, make_user):
    [observation] = registered()
    first, second = app.test_client(), app.test_client()
    login(first, make_user(Role.MODERATOR))
    login(second, make_user(Role.MODERATOR))
    path = f"/moderation/observations/{observation.id}"
    tokens = [csrf_token(c, path) for c in (first, second)]  # both pages show lock_version 1
    first.post(
        f"{path}/triage", data={"csrf_token": tokens[0], "action": "admit", "lock_version": 1}
    )
    response = second.post(
        f"{path}/triage",
        data={"csrf_token": tokens[1], "action": "reject", "lock_version": 1, "reason": "No"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "nothing was changed" in page or "nulla è stato modificato" in page
    triage = triage_of(observation)
    assert (triage.state, triage.reason) == (TriageState.ADMISSIBLE, None)


def test_the_author_reads_the_reason_on_the_trace_page(db, client, registered, moderator):
    [observation] = registered()
    operations.transition(
        db.session,
        triage_of(observation),
        "reject",
        actor=moderator,
        seen_lock=1,
        reason="Riguarda un altro piano",
    )
    db.session.commit()
    code = receipts.verification_code(observation.protocol_code)
    token = csrf_token(client, "/track")
    page = client.post(
        "/track", data={"csrf_token": token, "protocol": observation.protocol_code, "code": code}
    ).get_data(as_text=True)
    assert "Riguarda un altro piano" in page
    assert "not admissible" in page or "non ammissibile" in page
