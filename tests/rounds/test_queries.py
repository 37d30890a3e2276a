"""Pages run a bounded number of queries whatever the data size."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db as _db
from tests.fixtures.factories import login
from tests.fixtures.plans import generated_text


@contextmanager
def counting():
    count = {"n": 0}

    def hit(*_):
        count["n"] += 1

    event.listen(_db.engine, "before_cursor_execute", hit)
    try:
        yield count
    finally:
        event.remove(_db.engine, "before_cursor_execute", hit)


def _queries(client, path) -> int:
    with counting() as count:
        assert client.get(path).status_code == 200
    return count["n"]


def _observe(make_observation, round_, author, times):
    for _ in range(times):
        make_observation(round_, author, title="T")


def test_round_list_does_not_grow_with_rounds(app, db, make_round, make_comune, make_referent):
    referent = make_referent(make_comune())
    client = app.test_client()
    login(client, referent)
    make_round()
    few = _queries(client, "/rounds/")
    for _ in range(8):
        make_round()
    assert _queries(client, "/rounds/") == few


def test_round_and_section_pages_do_not_grow_with_the_text_or_observations(
    app, db, make_round, make_version, make_comune, make_referent, make_observation
):
    from app.plans.models import VersionStatus

    small = make_round(version=make_version(status=VersionStatus.FROZEN, text=generated_text(3)))
    large = make_round(
        version=make_version(status=VersionStatus.FROZEN, text=generated_text(30, 5))
    )
    comune = make_comune()
    referent = make_referent(comune)
    _observe(make_observation, large, referent, 12)
    client = app.test_client()
    login(client, referent)
    assert _queries(client, f"/rounds/{small.id}/") == _queries(client, f"/rounds/{large.id}/")
    from app.plans.tree import load_tree

    small_key = load_tree(db.session, small.version).roots[0].section.key
    large_key = load_tree(db.session, large.version).roots[0].section.key
    assert _queries(client, f"/rounds/{small.id}/s/{small_key}") == _queries(
        client, f"/rounds/{large.id}/s/{large_key}"
    )


def test_my_observations_does_not_grow_with_observations(
    app, db, make_round, make_comune, make_referent, make_observation
):
    round_ = make_round()
    referent = make_referent(make_comune())
    client = app.test_client()
    login(client, referent)
    _observe(make_observation, round_, referent, 2)
    few = _queries(client, "/observations/mine")
    _observe(make_observation, round_, referent, 15)
    assert _queries(client, "/observations/mine") == few


# The read side, on its own -------------------------------------------------------------------


def test_visible_rounds_are_what_can_see_round_allows(db, make_round, make_user):
    from app.accounts.models import Role
    from app.rounds.models import RoundState
    from app.rounds.permissions import can_see_round
    from app.rounds.queries import get_round, visible_rounds

    rounds = [make_round(state=state) for state in (RoundState.DRAFT, RoundState.OPEN)]
    for user in (make_user(Role.STAKEHOLDER), make_user(Role.MODERATOR)):
        shown = set(db.session.scalars(visible_rounds(user)))
        assert shown == {r for r in rounds if can_see_round(user, r)}
    assert get_round(rounds[0].id) == rounds[0]
    assert get_round(999999) is None
