from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.accounts.models import Role
from app.plans.tree import load_tree
from app.rounds.models import Round


@dataclass
class Scene:
    round: Round
    referent: object
    organisation: object
    client: object

    def paragraph(self, db, index: int = 0):
        tree = load_tree(db.session, self.round.version)
        return [p for _, p in tree.paragraphs()][index]

    def section(self, db, index: int = 0):
        tree = load_tree(db.session, self.round.version)
        return list(tree.walk())[index].section


@pytest.fixture
def scene(db, make_round, make_comune, logged_in):
    """An open round on a small frozen text, and a comune's referent logged in."""
    round_ = make_round()
    organisation = make_comune("Comune di Rho", email="protocollo@comune.rho.example")
    client, referent = logged_in(Role.STAKEHOLDER, organisation=organisation)
    return Scene(round_, referent, organisation, client)
