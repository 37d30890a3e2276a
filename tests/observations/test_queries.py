"""The observations' read side, on its own."""

from __future__ import annotations

from app.extensions import db as _db
from app.observations import queries, receipts
from app.observations.models import Observation


def test_followed_by_is_ones_own_drafts_and_the_organisations_submissions(
    db, make_round, make_comune, make_referent, make_observation
):
    round_ = make_round()
    comune = make_comune()
    me, colleague = make_referent(comune), make_referent(comune)
    stranger = make_referent(make_comune())
    my_draft = make_observation(round_, me, submit=False)
    mine = make_observation(round_, me)
    theirs = make_observation(round_, colleague)
    make_observation(round_, colleague, submit=False)  # a colleague's draft stays theirs
    make_observation(round_, stranger)

    shown = list(_db.session.scalars(queries.followed_by(me)))
    assert set(shown) == {my_draft, mine, theirs}
    assert shown == sorted(shown, key=lambda o: (o.created_at, o.id), reverse=True)


def test_submitted_counts_per_section_and_by_receipt(
    db, make_round, make_comune, make_referent, make_observation
):
    round_ = make_round()
    author = make_referent(make_comune())
    first = make_observation(round_, author)
    make_observation(round_, author)
    make_observation(round_, author, submit=False)  # drafts do not count
    counts = queries.submitted_counts(round_, Observation.section_id)
    assert counts == {None: 2}  # both on the plan as a whole
    code = receipts.verification_code(first.protocol_code)
    assert queries.by_receipt(f"  {first.protocol_code.lower()} ", code) == first
    assert queries.by_receipt(first.protocol_code, "WRONG-CODE") is None
    assert queries.by_receipt("NOPE-0001", code) is None
