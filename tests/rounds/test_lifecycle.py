from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.notifications.operations import deliver_due
from app.plans.models import VersionStatus
from app.rounds import operations
from app.rounds.models import Round, RoundError, RoundState
from app.stakeholders.models import OrganisationKind

ALL_ACTIONS = ["schedule", "unschedule", "open", "close", "start_review", "conclude"]
ALLOWED = {
    RoundState.DRAFT: {"schedule", "open"},
    RoundState.SCHEDULED: {"unschedule", "open"},
    RoundState.OPEN: {"close"},
    RoundState.CLOSED: {"start_review"},
    RoundState.IN_REVIEW: {"conclude"},
    RoundState.CONCLUDED: set(),
}


@pytest.mark.parametrize("state", list(RoundState))
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_transitions_are_guarded(db, make_round, state, action):
    round_ = make_round(state=state)
    if action in ALLOWED[state]:
        operations.change_state(db.session, round_, action, actor=None)
        assert round_.state is not state
    else:
        with pytest.raises(RoundError):
            operations.change_state(db.session, round_, action, actor=None)
        db.session.rollback()
        assert db.session.get(Round, round_.id).state is state


def test_opening_freezes_the_version(db, make_round, make_version):
    version = make_version()  # a draft
    round_ = make_round(state=RoundState.SCHEDULED, version=version)
    assert version.status is VersionStatus.DRAFT
    operations.change_state(db.session, round_, "open", actor=None)
    db.session.commit()
    assert db.session.get(type(version), version.id).status is VersionStatus.FROZEN


def test_a_round_needs_participants_before_scheduling(db, make_round):
    round_ = make_round(state=RoundState.DRAFT, kinds=())
    with pytest.raises(RoundError):
        operations.change_state(db.session, round_, "schedule", actor=None)


def test_dates_and_prefix_are_checked(db, make_round, make_version):
    version = make_version(status=VersionStatus.FROZEN)
    now = utcnow()
    with pytest.raises(RoundError):
        operations.create_round(
            db.session,
            version=version,
            title="x",
            instructions="",
            opens_at=now,
            closes_at=now - timedelta(hours=1),
            protocol_prefix="OK",
            actor=None,
        )
    db.session.rollback()
    with pytest.raises(RoundError):
        operations.create_round(
            db.session,
            version=version,
            title="x",
            instructions="",
            opens_at=now,
            closes_at=now + timedelta(days=1),
            protocol_prefix="bad prefix!",
            actor=None,
        )
    db.session.rollback()
    make_round(prefix="PSM2019")
    with pytest.raises(RoundError):
        operations.create_round(
            db.session,
            version=version,
            title="x",
            instructions="",
            opens_at=now,
            closes_at=now + timedelta(days=1),
            protocol_prefix="psm2019",
            actor=None,
        )


def test_instructions_are_cleaned(db, make_round):
    round_ = make_round()
    operations.update_round(
        db.session,
        round_,
        actor=None,
        instructions='<p onclick="x()">Ciao<script>alert(1)</script></p>',
    )
    assert round_.instructions == "<p>Ciao</p>"


def test_while_open_only_some_settings_change(db, make_round):
    round_ = make_round(state=RoundState.OPEN)
    operations.update_round(
        db.session, round_, actor=None, closes_at=round_.closes_at + timedelta(days=2)
    )
    with pytest.raises(RoundError):
        operations.update_round(db.session, round_, actor=None, protocol_prefix="OTHER")


def test_opening_e_mails_the_eligible_referents(
    db, smtp, make_round, make_comune, make_referent, make_organisation
):
    comune = make_comune("Comune di Rho")
    referent = make_referent(comune, email="rho@example.org")
    other = make_referent(
        make_organisation("Assolombarda", kind=OrganisationKind.ASSOCIAZIONE_CATEGORIA),
        email="asso@example.org",
    )
    make_referent(comune, email="gone@example.org", active=False)
    round_ = make_round(state=RoundState.SCHEDULED, kinds=(OrganisationKind.COMUNE,))
    operations.change_state(db.session, round_, "open", actor=None)
    db.session.commit()
    deliver_due(db.session)
    [message] = smtp.inbox.to(referent.email)
    assert round_.title in message["Subject"]
    assert f"/rounds/{round_.id}/" in smtp.inbox.text(message)
    assert smtp.inbox.to(other.email) == [] and smtp.inbox.to("gone@example.org") == []


def test_the_clock_opens_reminds_and_closes(db, smtp, make_round, make_comune, make_referent):
    make_referent(make_comune(), email="rho@example.org")
    start = utcnow()
    round_ = make_round(
        state=RoundState.SCHEDULED,
        opens_at=start + timedelta(hours=1),
        closes_at=start + timedelta(days=5),
        reminder_days=2,
    )
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert operations.apply_due_transitions(db.session)["opened"] == 1
        db.session.commit()
        assert operations.apply_due_transitions(db.session) == {
            "opened": 0,
            "closed": 0,
            "reminded": 0,
        }
    with time_machine.travel(start + timedelta(days=3, hours=1), tick=False):
        assert operations.apply_due_transitions(db.session)["reminded"] == 1
        db.session.commit()
        assert operations.apply_due_transitions(db.session)["reminded"] == 0
    with time_machine.travel(start + timedelta(days=5, seconds=1), tick=False):
        assert operations.apply_due_transitions(db.session)["closed"] == 1
        db.session.commit()
        deliver_due(db.session)
    assert db.session.get(Round, round_.id).state is RoundState.CLOSED
    subjects = [m["Subject"] for m in smtp.inbox.to("rho@example.org")]
    assert len(subjects) == 2  # opened, then the reminder
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "rounds").order_by(AuditEntry.id)
    ).all()
    assert actions[-3:] == ["round.open", "round.reminded", "round.close"]


def test_the_deadline_of_an_open_round_can_be_extended_through_the_form(
    db, logged_in, make_round, make_group, make_zone, make_comune
):
    from app.accounts.models import Role
    from app.core.timezones import utc_to_local
    from tests.fixtures.factories import csrf_token

    groups = [make_group("Zeta"), make_group("Alfa")]  # stored order differs from id order
    zones = [make_zone("Sud"), make_zone("Nord")]
    round_ = make_round(state=RoundState.SCHEDULED, groups=groups, zones=zones)
    operations.change_state(db.session, round_, "open", actor=None)  # "open now": seconds
    db.session.commit()
    client, _ = logged_in(Role.MODERATOR)
    path = f"/rounds/{round_.id}/edit"
    new_close = round_.closes_at + timedelta(days=7)
    data = {
        "csrf_token": csrf_token(client, path),
        "plan_version_id": str(round_.plan_version_id),
        "title": round_.title,
        "instructions": round_.instructions,
        "opens_at": utc_to_local(round_.opens_at).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": utc_to_local(new_close).strftime("%Y-%m-%dT%H:%M"),
        "protocol_prefix": round_.protocol_prefix.lower(),
        "kinds": [k.value for k in round_.kinds],
        "groups": [str(g.id) for g in groups],
        "zones": [str(z.id) for z in zones],
        "publish_after_close": "y",
        "reminder_days": "3",
    }
    response = client.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    stored = db.session.get(Round, round_.id)
    assert stored.closes_at.replace(second=0, microsecond=0) == new_close.replace(
        second=0, microsecond=0
    )
