"""The moderation migrations give what was registered before them what registration gives now
(triage, history, search document)."""

from __future__ import annotations

from datetime import timedelta

import flask_migrate
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.core.db import utcnow
from app.extensions import db
from app.observations.models import Observation, ObservationState
from app.plans import operations as plans
from app.plans.models import Audience
from tests.core.test_migrations import empty_database, migration_app  # noqa: F401 - fixtures
from tests.fixtures.plans import SMALL_TEXT, specs_from

TRIAGE_REVISION = "63c819fdc45f"


def _before(app, revision: str) -> str:
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    return script.get_revision(revision).down_revision


def _observations_before_moderation(app):
    """A round with one registered and one draft observation, written by the older schema."""
    from app.accounts import operations as accounts
    from app.accounts.models import Role

    flask_migrate.upgrade(revision=_before(app, TRIAGE_REVISION))
    session = db.session
    user = accounts.create_user(
        session,
        email="m@example.org",
        display_name="M",
        roles=(Role.MODERATOR,),
        organisation=None,
        password=None,
        send_welcome=False,
    )
    plan = plans.create_plan(
        session, title="Piano", slug="piano", owner="Città", audience=Audience.PUBLIC
    )
    version = plans.build_version(
        session, plan, label="Bozza", predecessor=None, specs=specs_from(SMALL_TEXT)
    )
    version.freeze()
    now = utcnow()
    # The round as that schema had it (the model has columns added since, such as the
    # response version): written with the columns of the time.
    session.flush()
    round_id = session.execute(
        text(
            "INSERT INTO rounds (plan_version_id, title, instructions, opens_at, closes_at, "
            "state, accept_late, publish_after_close, citizens_eligible, protocol_prefix, "
            "reminder_days, created_at) VALUES (:version, 'C', '', :opens, :closes, 'open', "
            ":no, :yes, :no, 'M', 0, :now) RETURNING id"
        ),
        {
            "version": version.id,
            "opens": now - timedelta(days=1),
            "closes": now + timedelta(days=1),
            "now": now,
            "no": False,
            "yes": True,
        },
    ).scalar_one()
    registered = Observation(
        round_id=round_id,
        author=user,
        title="Vecchia",
        body_html="<p>Ciclabile</p>",
        body_text="Ciclabile",
        state=ObservationState.SUBMITTED,
        protocol_number=1,
        protocol_code="M-0001",
        submitted_at=now,
    )
    draft = Observation(round_id=round_id, author=user, title="Bozza")
    session.add_all([registered, draft])
    session.flush()
    ids = registered.id, draft.id  # read before the commit expires them (no reload)
    session.commit()
    return ids


def test_observations_registered_before_get_their_triage(migration_app):  # noqa: F811
    registered, draft = _observations_before_moderation(migration_app)
    db.session.remove()
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT observation_id, state, lock_version FROM triage")
        ).all()
        history = connection.execute(
            text("SELECT observation_id, from_state, to_state FROM triage_transitions")
        ).all()
        documents = connection.execute(
            text("SELECT observation_id, document FROM search_documents")
        ).all()
    assert [tuple(r) for r in rows] == [(registered, "received", 1)]
    assert [tuple(r) for r in history] == [(registered, None, "received")]
    assert draft not in {r[0] for r in rows}
    assert [tuple(r) for r in documents] == [(registered, "m-0001\nvecchia\nciclabile")]
