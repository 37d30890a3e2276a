"""The report's statistics equal what a count in the database gives, and cost a fixed number
of statements whatever the size of the round."""

from __future__ import annotations

from sqlalchemy import Select, distinct, func, literal, select, union
from sqlalchemy.orm import Session

from app.decisions.models import Decision, DecisionState, Outcome
from app.decisions.operations import DECIDABLE
from app.moderation.models import ObservationTag, PointTag, Tag, TagFamily, Triage
from app.moderation.tags import seed_tags
from app.observations.models import Observation, Point, PointState
from app.plans.models import PolicyArea
from app.reports.statistics import Row, _registered, round_statistics
from app.rounds.models import Round
from app.stakeholders.models import Group, Organisation, OrganisationKind, Zone, group_memberships
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


# The reference: each table counted by grouped aggregates in the database (what the statistics
# ran before they became one pass in Python), to check the pass against.


def _reference_pairs(round_: Round, key, *joins) -> Select:
    """(observation, point, key) for every registered observation (point None when it has no
    active point), through the joins that reach ``key``."""
    query = (
        select(Observation.id.label("oid"), Point.id.label("pid"), key.label("key"))
        .select_from(Observation)
        .outerjoin(
            Point, (Point.observation_id == Observation.id) & (Point.state == PointState.ACTIVE)
        )
    )
    for target, on in joins:
        query = query.outerjoin(target, on)
    return query.where(*_registered(round_))


def _reference_areas(round_: Round) -> Select:
    """(observation, point, policy area) where the area is tagged on the point or on its
    observation; observations and points without one get a row with area None."""
    tagged = union(
        select(PointTag.point_id.label("pid"), PointTag.tag_id.label("tid")),
        select(Point.id, ObservationTag.tag_id).join(
            ObservationTag, ObservationTag.observation_id == Point.observation_id
        ),
    ).subquery()
    area = (
        select(tagged.c.pid, Tag.policy_area.label("area"))
        .join(Tag, Tag.id == tagged.c.tid)
        .where(Tag.family == TagFamily.POLICY_AREA)
        .subquery()
    )
    return _reference_pairs(round_, area.c.area, (area, area.c.pid == Point.id))


def _reference_dimensions(round_: Round) -> list[tuple[str, Select]]:
    organisation = (Organisation, Organisation.id == Observation.organisation_id)
    return [
        ("kind", _reference_pairs(round_, Organisation.kind, organisation)),
        (
            "group",
            _reference_pairs(
                round_,
                Group.name,
                organisation,
                (group_memberships, group_memberships.c.organisation_id == Organisation.id),
                (Group, Group.id == group_memberships.c.group_id),
            ),
        ),
        (
            "zone",
            _reference_pairs(
                round_, Zone.name, organisation, (Zone, Zone.id == Organisation.zone_id)
            ),
        ),
        ("area", _reference_areas(round_)),
        ("channel", _reference_pairs(round_, Observation.channel)),
        ("all", _reference_pairs(round_, literal("all"))),
    ]


def _reference_fill(session: Session, pairs: Select) -> dict[object, Row]:
    sub = pairs.subquery()
    admissible = Triage.state.in_(DECIDABLE)
    rows: dict[object, Row] = {}
    for key, observations, not_admissible in session.execute(
        select(
            sub.c.key,
            func.count(distinct(sub.c.oid)),
            func.count(distinct(sub.c.oid)).filter(~admissible),
        )
        .join(Triage, Triage.observation_id == sub.c.oid)
        .group_by(sub.c.key)
    ):
        rows[key] = Row(key, observations, not_admissible)
    for key, outcome, points in session.execute(
        select(sub.c.key, Decision.outcome, func.count(distinct(sub.c.pid)))
        .join(Triage, Triage.observation_id == sub.c.oid)
        .outerjoin(
            Decision,
            (Decision.point_id == sub.c.pid) & (Decision.state == DecisionState.PUBLISHED),
        )
        .where(admissible, sub.c.pid.is_not(None))
        .group_by(sub.c.key, Decision.outcome)
    ):
        row = rows.setdefault(key, Row(key))
        row.points += points
        if outcome is not None:
            row.outcomes[outcome] = points
    return rows


def test_the_one_pass_equals_grouped_counts_in_the_database(db, scene, make_group):
    make_group("Tavolo della mobilità", members=[scene.comune])  # the comune is in two groups
    seed_tags(db.session)
    tags = {t.policy_area: t for t in db.session.query(Tag).filter(Tag.policy_area.is_not(None))}
    db.session.add_all(
        [
            PointTag(point_id=scene.points[0].id, tag_id=tags[PolicyArea.VELOCE].id),
            PointTag(point_id=scene.points[0].id, tag_id=tags[PolicyArea.AGILE].id),
            ObservationTag(
                observation_id=scene.observations[1].id, tag_id=tags[PolicyArea.COESA].id
            ),
            ObservationTag(
                observation_id=scene.observations[0].id, tag_id=tags[PolicyArea.AGILE].id
            ),
        ]
    )
    db.session.commit()
    decide(scene.points[0], Outcome.NOT_ACCEPTED, "Non compatibile col bilancio.", scene.editor)
    decide(scene.points[1], Outcome.NOT_RELEVANT, "Fuori dal perimetro del piano.", scene.editor)

    figures = round_statistics(db.session, scene.round)
    reference = {
        dimension: {
            key: (row.observations, row.not_admissible, row.points, row.outcomes)
            for key, row in _reference_fill(db.session, pairs).items()
        }
        for dimension, pairs in _reference_dimensions(db.session.get(Round, scene.round.id))
    }
    for table in figures.tables:
        got = {r.key: (r.observations, r.not_admissible, r.points, r.outcomes) for r in table.rows}
        assert got == reference[table.dimension], table.dimension
    all_ = reference["all"]["all"]
    assert (figures.observations, figures.not_admissible, figures.points, figures.outcomes) == all_
    areas = {r.key: r for r in figures.table("area").rows}
    assert areas[PolicyArea.AGILE].points == 1 and areas[PolicyArea.COESA].observations == 1
    assert {r.key for r in figures.table("group").rows} >= {"Tavolo metropolitano", None}
