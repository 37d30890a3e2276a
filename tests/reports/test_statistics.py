"""The report's statistics equal what a count in the database gives, and cost a fixed number
of statements whatever the size of the round."""

from __future__ import annotations

from app.decisions.models import Outcome
from app.reports.statistics import round_statistics
from app.stakeholders.models import OrganisationKind
from tests.moderation.test_queue import count_statements
from tests.reports.conftest import decide


def _rows(figures, dimension):
    return {row.key: row for row in figures.table(dimension).rows}


def test_the_figures_of_a_constructed_round(db, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, "Non compatibile col bilancio.", scene.editor)
    decide(scene.points[1], Outcome.NOT_RELEVANT, "Fuori dal perimetro del piano.", scene.editor)

    figures = round_statistics(db.session, scene.round)

    assert (figures.observations, figures.not_admissible, figures.points) == (4, 1, 3)
    assert figures.outcomes == {Outcome.NOT_ACCEPTED: 1, Outcome.NOT_RELEVANT: 1}
    assert figures.undecided == 1
    assert figures.observations_by_outcome == {Outcome.NOT_ACCEPTED: 1, Outcome.NOT_RELEVANT: 1}
    kinds = _rows(figures, "kind")
    comuni, universities = kinds[OrganisationKind.COMUNE], kinds[OrganisationKind.UNIVERSITA]
    assert (comuni.observations, comuni.not_admissible, comuni.points) == (2, 1, 1)
    assert comuni.outcomes == {Outcome.NOT_ACCEPTED: 1} and comuni.undecided == 0
    assert (universities.observations, universities.points, universities.undecided) == (2, 2, 1)
    assert _rows(figures, "zone")["Nord Ovest"].observations == 2
    assert _rows(figures, "zone")[None].observations == 2  # the university is in no zone
    groups = _rows(figures, "group")
    assert groups["Tavolo metropolitano"].outcomes == {Outcome.NOT_ACCEPTED: 1}
    assert groups[None].observations == 2
    assert sum(row.observations for row in figures.table("channel").rows) == 4
    assert (figures.eligible, figures.invited, figures.submitted) == (2, 2, 2)
    assert figures.median_days is not None and figures.median_days >= 0


def test_the_statement_count_does_not_grow_with_the_round(
    db, scene, make_observation, make_referent
):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, "Non compatibile col bilancio.", scene.editor)
    with count_statements(db.engine) as small:
        round_statistics(db.session, scene.round)
    for i in range(6):
        make_observation(scene.round, scene.referent, body_html=f"<p>Altro {i}</p>")
    db.session.expire_all()
    with count_statements(db.engine) as large:
        figures = round_statistics(db.session, scene.round)
    assert figures.observations == 10
    assert len(large) == len(small) <= 17  # 15 aggregates, the round and its kinds
