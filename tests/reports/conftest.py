"""Reports fixtures: a round with observations from a comune (in a zone and a group), a
university and a not admissible letter, their points decided and published."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.decisions import operations as decisions
from app.decisions.models import Outcome, RoundDecisionSettings
from app.extensions import db as _db
from app.moderation import operations as moderation
from app.moderation.models import Triage
from app.observations.models import Point
from app.plans import operations as plans
from app.plans.changes import TextChange
from app.plans.models import Section
from app.plans.tree import load_tree
from app.rounds.models import Round, RoundState
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


def respond(db, make_successor, scene):
    """A response version whose first paragraph is edited (one change), both points 1 of the
    comune's and the university's letters anchored on that paragraph's section; the first is
    accepted with a link to the change, the second is not relevant."""
    round_ = db.session.get(Round, scene.round.id)
    consulted = [p for _n, p in load_tree(db.session, round_.version).paragraphs()]
    section_id = consulted[0].section_id
    response = make_successor(round_.version)
    round_.response_version_id = response.id
    for point in scene.points[:2]:
        point.target, point.section_id = "section", section_id
    db.session.commit()
    _node, first = next(load_tree(db.session, response).paragraphs())
    plans.update_paragraph(
        db.session,
        first,
        html=first.text + " Con nuove piste ciclabili.",
        seen_lock=first.lock_version,
    )
    db.session.commit()
    change = db.session.scalar(select(TextChange).where(TextChange.version_id == response.id))
    decision = decisions.save(
        db.session,
        scene.points[0],
        decisions.Draft(Outcome.ACCEPTED, "Accolta: integrata.", None, [change.id]),
        actor=scene.editor,
    )
    db.session.commit()
    decisions.publish(
        db.session, scene.points[0], actor=scene.editor, seen_lock=decision.lock_version
    )
    db.session.commit()
    decide(scene.points[1], Outcome.NOT_RELEVANT, "Fuori tema.", scene.editor)
    key = next(
        n.section.key
        for n in load_tree(db.session, round_.version).walk()
        if n.section.id == section_id
    )
    return change, key
