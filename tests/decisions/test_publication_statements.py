"""A round's publication takes a bounded number of SQL statements, whatever its size; the one
UPDATE it publishes with still refuses rows changed meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from app.core import audit
from app.core.db import update_versioned
from app.decisions import operations
from app.decisions.models import Decision, DecisionState, Outcome
from app.moderation.models import TriageState
from app.notifications.models import OutboxMessage
from tests.decisions.conftest import triage_of
from tests.decisions.test_links import _respond
from tests.moderation.test_queue import count_statements

Draft = operations.Draft


def _publish(db, s, change) -> list[str]:
    """Every point decided as a draft (one in three accepted, linked to the change), then the
    round published at once: the statements it took, up to its commit."""
    for i, point in enumerate(s.points):
        outcome = [Outcome.ACCEPTED, Outcome.NOT_ACCEPTED, Outcome.NOT_RELEVANT][i % 3]
        changes = [change.id] if outcome is Outcome.ACCEPTED else []
        operations.save(
            db.session, point, Draft(outcome, f"Motivo {i}.", None, changes), actor=s.editor
        )
    db.session.commit()
    db.session.expire_all()
    with count_statements(db.engine) as statements:
        assert operations.publish_round(db.session, s.round, actor=s.editor) == len(s.points)
        db.session.flush()
    db.session.commit()
    return statements


def test_publishing_a_round_takes_a_bounded_number_of_statements(db, setting, make_successor):
    seen = {}
    for n in (3, 30):
        s = setting(n=n)
        change = _respond(db, make_successor, s.round)[3]
        seen[n] = _publish(db, s, change)
        decisions = db.session.scalars(select(Decision).where(Decision.round_id == s.round.id))
        assert {d.state for d in decisions} == {DecisionState.PUBLISHED}
        assert all(triage_of(o).state is TriageState.DECIDED for o in s.observations)
    told = select(func.count()).where(OutboxMessage.kind == "decisions/email/published")
    assert db.session.scalar(told) == 33
    assert audit.verify(db.session).ok
    reads_and_updates = {n: [st for st in seen[n] if not st.startswith("INSERT")] for n in seen}
    inserts = {n: len(seen[n]) - len(reads_and_updates[n]) for n in seen}
    # Loading the drafts, their links, points, observations, authors and triage rows, and
    # publishing them: the same statements for 3 decisions as for 30.
    assert len(reads_and_updates[30]) == len(reads_and_updates[3]) <= 25
    if db.engine.dialect.name == "postgresql":
        # Audit entries, transitions and e-mails go in one INSERT per table.
        assert inserts[30] == inserts[3] <= 5
    else:
        # SQLite: one INSERT per added row where its generated key is read back (SQLAlchemy
        # cannot batch INSERT … RETURNING there): per observation of one point, two audit
        # entries (published, decided), a transition and an e-mail; one for the round.
        assert inserts[3] == 4 * 3 + 1 and inserts[30] == 4 * 30 + 1


def test_rows_changed_meanwhile_are_refused(db, setting):
    s = setting(n=2)
    triages = [triage_of(o) for o in s.observations]
    db.session.execute(
        update(type(triages[1]))
        .where(type(triages[1]).observation_id == triages[1].observation_id)
        .values(lock_version=triages[1].lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(StaleDataError):
        update_versioned(db.session, triages, state=TriageState.DECIDED)
    db.session.rollback()
    assert {triage_of(o).state for o in s.observations} == {TriageState.ASSIGNED}
