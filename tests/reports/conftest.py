"""Reports fixtures: a round with observations from a comune (in a zone and a group), a
university and a not admissible letter, their points decided and published."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.decisions import operations as decisions
from app.decisions.models import RoundDecisionSettings
from app.extensions import db as _db
from app.moderation import operations as moderation
from app.moderation.models import Triage
from app.observations.models import Point
from app.plans.models import Section
from app.rounds.models import RoundState
from app.stakeholders.models import OrganisationKind


@dataclass
class Scene:
    round: object
    editor: object
    moderator: object
    referent: object
    comune: object
    university: object
    observations: list  # comune's, university's, not admissible, undecided
    points: list


def _point(observation) -> Point:
    return _db.session.scalar(
        select(Point).where(Point.observation_id == observation.id, Point.number == 1)
    )


def _triage(observation, action, moderator, reason=None):
    _db.session.expire_all()
    triage = _db.session.get(Triage, observation.id)
    moderation.transition(
        _db.session, triage, action, actor=moderator, seen_lock=triage.lock_version, reason=reason
    )
    _db.session.commit()


def decide(point, outcome, reasoning, editor) -> None:
    decision = decisions.save(
        _db.session, point, decisions.Draft(outcome, reasoning, None), actor=editor
    )
    _db.session.commit()
    decisions.publish(_db.session, point, actor=editor, seen_lock=decision.lock_version)
    _db.session.commit()


@pytest.fixture
def scene(
    db, make_round, make_comune, make_zone, make_group, make_referent, make_observation, make_user
):
    round_ = make_round(
        state=RoundState.OPEN, kinds=(OrganisationKind.COMUNE, OrganisationKind.UNIVERSITA)
    )
    zone = make_zone("Nord Ovest")
    comune = make_comune("Comune di Rho", zone=zone)
    university = make_comune("Politecnico", kind=OrganisationKind.UNIVERSITA)
    make_group("Tavolo metropolitano", members=[comune])
    referent = make_referent(comune, email="rho@example.org")
    scholar = make_referent(university, email="poli@example.org")
    observations = [
        make_observation(round_, referent, body_html="<p>Più piste ciclabili in centro.</p>"),
        make_observation(round_, scholar, body_html="<p>Ricerca e imprese insieme.</p>"),
        make_observation(round_, referent, body_html="<p>Una lettera fuori tema.</p>"),
        make_observation(round_, scholar, body_html="<p>Ancora da decidere.</p>"),
    ]
    editor = make_user(Role.EDITOR, name="Anna Editor")
    moderator = make_user(Role.MODERATOR)
    _db.session.add(RoundDecisionSettings(round_id=round_.id, any_editor=True))
    _db.session.commit()
    for observation in (observations[0], observations[1], observations[3]):
        _triage(observation, "admit", moderator)
    _triage(observations[2], "reject", moderator, reason="Non riguarda il piano.")
    points = [_point(o) for o in observations]
    section = _db.session.scalars(
        select(Section).where(Section.version_id == round_.version.id).order_by(Section.id)
    ).first()
    points[0].target, points[0].section_id = "section", section.id
    _db.session.commit()
    return Scene(round_, editor, moderator, referent, comune, university, observations, points)
