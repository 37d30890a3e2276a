"""Each kind of organisation by each way a round can admit participants."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.rounds.eligibility import organisation_is_eligible
from app.rounds.permissions import can_submit
from app.stakeholders.models import OrganisationKind

KINDS = list(OrganisationKind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "config", ["only comuni", "only universities", "by zone", "by group", "everyone", "nobody"]
)
def test_eligibility_matrix(
    db, make_round, make_comune, make_zone, make_group, make_referent, kind, config
):
    zone = make_zone()
    organisation = make_comune(kind=kind, zone=zone if kind == OrganisationKind.COMUNE else None)
    group = make_group(members=[organisation])
    settings = {
        "only comuni": {"kinds": (OrganisationKind.COMUNE,)},
        "only universities": {"kinds": (OrganisationKind.UNIVERSITA,)},
        "by zone": {"kinds": (), "zones": (zone,)},
        "by group": {"kinds": (), "groups": (group,)},
        "everyone": {"kinds": tuple(OrganisationKind)},
        "nobody": {"kinds": (), "citizens": True},
    }[config]
    round_ = make_round(**settings)
    expected = {
        "only comuni": kind == OrganisationKind.COMUNE,
        "only universities": kind == OrganisationKind.UNIVERSITA,
        "by zone": kind == OrganisationKind.COMUNE,
        "by group": True,
        "everyone": True,
        "nobody": False,
    }[config]
    assert organisation_is_eligible(round_, organisation) is expected
    referent = make_referent(organisation)
    assert can_submit(referent, round_) is expected


def test_an_inactive_organisation_or_referent_is_not_eligible(
    db, make_round, make_comune, make_referent
):
    round_ = make_round()
    organisation = make_comune()
    referent = make_referent(organisation)
    organisation.active = False
    db.session.commit()
    assert not can_submit(referent, round_)
    organisation.active = True
    referent.active = False
    db.session.commit()
    assert not can_submit(referent, round_)


@pytest.mark.parametrize("citizens", [True, False])
def test_registered_citizens_only_where_the_round_says(db, make_round, make_user, citizens):
    round_ = make_round(citizens=citizens)
    citizen = make_user(Role.CITIZEN)
    assert can_submit(citizen, round_) is citizens


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.MODERATOR])
def test_staff_do_not_submit_as_participants(db, make_round, make_user, role):
    assert not can_submit(make_user(role), make_round())
