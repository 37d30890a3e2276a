"""Decisions fixtures: a closed round with admitted observations whose points are assigned."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db as _db
from app.moderation import operations as moderation
from app.moderation import points as moderation_points
from app.moderation.models import Triage
from app.observations.models import Point
from app.rounds.models import RoundState


@dataclass
class Setting:
    round: object
    editor: object
    other_editor: object
    moderator: object
    author: object
    observations: list
    points: list


def point_one(observation) -> Point:
    return _db.session.scalar(
        select(Point).where(Point.observation_id == observation.id, Point.number == 1)
    )


def triage_of(observation) -> Triage:
    _db.session.expire_all()
    return _db.session.get(Triage, observation.id)


@pytest.fixture
def setting(make_round, make_comune, make_referent, make_observation, make_user):
    """``setting(n=2, state=CLOSED, admit=True, assign=True)``: a round whose n observations
    (by one referent) are admitted and whose point 1 is assigned to ``editor``."""

    def make(n: int = 2, state=RoundState.CLOSED, admit: bool = True, assign: bool = True):
        round_ = make_round(state=RoundState.OPEN)
        author = make_referent(make_comune(), email=f"autore{round_.id}@example.org")
        observations = [
            make_observation(
                round_, author, title=f"Osservazione {i + 1}", body_html=f"<p>Punto {i + 1}</p>"
            )
            for i in range(n)
        ]
        editor = make_user(Role.EDITOR, name="Anna Editor")
        other = make_user(Role.EDITOR, name="Bruno Editor")
        moderator = make_user(Role.MODERATOR)
        for observation in observations:
            if not admit:
                continue
            triage = triage_of(observation)
            moderation.transition(
                _db.session, triage, "admit", actor=moderator, seen_lock=triage.lock_version
            )
            _db.session.commit()
            if assign:
                triage = triage_of(observation)
                moderation_points.set_assignees(
                    _db.session,
                    triage,
                    point_one(observation),
                    [editor.id],
                    actor=moderator,
                    seen_lock=triage.lock_version,
                )
                _db.session.commit()
        from app.rounds import operations as rounds

        for action in {
            RoundState.OPEN: [],
            RoundState.CLOSED: ["close"],
            RoundState.IN_REVIEW: ["close", "start_review"],
        }[state]:
            rounds.change_state(_db.session, round_, action, actor=None)
        _db.session.commit()
        return Setting(
            round=round_,
            editor=editor,
            other_editor=other,
            moderator=moderator,
            author=author,
            observations=observations,
            points=[point_one(o) for o in observations],
        )

    return make


def msgid(error) -> str:
    """The English message id of a refusal (whatever language it is shown in)."""
    message = error.message
    return message._args[0] if hasattr(message, "_args") else str(message)


@contextmanager
def refusing(cls, text: str):
    """Like ``pytest.raises(cls)``, and the refusal's message id contains ``text``."""
    with pytest.raises(cls) as info:
        yield info
    assert text in msgid(info.value), msgid(info.value)
