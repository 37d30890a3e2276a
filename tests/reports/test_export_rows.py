"""The exports read their rows by columns (``reports.rows``); every row must be the one the
report's own items give (``queries.report_items``, the publication rules of
``moderation.publication``): built here from those items, for a round with linked changes,
groups, a refusal and an undecided point, and for a round that publishes its observations
with split points, a summary, a redaction, a hidden point, a hidden observation and a name
published with consent."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.decisions.models import Outcome, RoundDecisionSettings
from app.moderation import operations as moderation
from app.moderation import splitting
from app.moderation.models import TriageState
from app.moderation.splitting import PartSpec
from app.observations.models import Observation, Point, PointState
from app.plans.anchors import Anchor, Target
from app.reports import exports, queries, rows
from app.rounds.models import Round
from tests.moderation import conftest as moderation_fixtures
from tests.moderation.conftest import triage_of
from tests.moderation.test_publication import LETTER, _close, _hide, _redact
from tests.reports.conftest import decide, respond

registered = moderation_fixtures.registered  # the moderation tests' fixtures
moderator = moderation_fixtures.moderator


def _expected(session: Session, round_id: int, *, draft: bool) -> list[dict]:
    """The rows as the report's items give them (what the report by observation shows)."""
    round_ = session.get(Round, round_id)
    sections = exports.sections_of(session, round_)
    observations = list(
        session.scalars(queries.registered(round_).order_by(Observation.protocol_number))
    )
    out = []
    for item in queries.report_items(session, round_, observations):
        o = item.observation
        organisation = o.organisation
        common = {
            "draft": draft,
            "protocol": o.protocol_code,
            "received_at": o.received_at.isoformat() if o.received_at else None,
            "channel": o.channel.value,
            "late": o.late,
            "organisation": organisation.name if organisation else None,
            "organisation_kind": organisation.kind.value if organisation else None,
            "zone": organisation.zone.name if organisation and organisation.zone else None,
            "groups": [g.name for g in organisation.groups] if organisation else [],
            "name": item.name,
            "admissible": item.admissible,
            "not_admissible_reason": item.reason,
        }
        if not item.admissible or not item.points:
            out.append({**dict.fromkeys(exports.COLUMNS), **common, "changes": []})
            continue
        for rp in item.points:
            section = sections.get(rp.point.section_id)
            decision = rp.decision
            out.append(
                {
                    **common,
                    "point": rp.point.label,
                    "section_number": section.number if section else None,
                    "section_title": section.title if section else None,
                    "anchor": str(rp.point.target),
                    "text": rp.text,
                    "outcome": decision.outcome.value if decision and decision.outcome else None,
                    "reasoning": decision.reasoning if decision else None,
                    "decided_at": decision.published_at.isoformat()
                    if decision and decision.published_at
                    else None,
                    "changes": [c.change_id for c in rp.changes],
                }
            )
    return out


def _compare(db, round_id: int, monkeypatch) -> list[dict]:
    with current_app.test_request_context("/"), Session(db.engine) as session:
        expected = _expected(session, round_id, draft=True)  # (its changes carry links)
    monkeypatch.setattr(rows, "CHUNK", 2)  # keyset chunks, and groups read across them
    with Session(db.engine) as session:
        got = list(exports.records(session, round_id, draft=True))
    assert got == expected
    return got


def test_the_rows_of_a_decided_round_are_the_reports(db, scene, make_successor, monkeypatch):
    change, _key = respond(db, make_successor, scene)
    got = _compare(db, scene.round.id, monkeypatch)
    assert got[0]["changes"] == [change.id] and got[0]["groups"] == ["Tavolo metropolitano"]
    assert got[2]["admissible"] is False and got[3]["outcome"] is None
    assert {r["text"] for r in got} == {None}  # this round does not publish its observations


def test_the_rows_of_a_published_round_are_the_reports(
    db, registered, moderator, make_user, monkeypatch
):
    letter, hidden = registered(n=2, body_html=LETTER)
    [other] = registered(round_=letter.round, body_html=LETTER, consent_public_name=True)
    db.session.add(RoundDecisionSettings(round_id=letter.round_id, any_editor=True))
    db.session.commit()
    text = letter.body_text
    cut = text.index("Chiede")
    triage = triage_of(letter)
    plan = Anchor(Target.PLAN)
    splitting.split(
        db.session,
        triage,
        [
            PartSpec(0, cut - 1, None, plan),
            PartSpec(cut, len(text), None, plan),
            PartSpec(None, None, "Una sintesi del moderatore.", plan),
        ],
        actor=moderator,
        seen_lock=triage.lock_version,
    )
    db.session.commit()
    _redact(db, letter, moderator, quote="Rossi, via Roma 3. Chiede anche")
    first, second, _summary = db.session.scalars(
        select(Point)
        .where(Point.observation_id == letter.id, Point.state == PointState.ACTIVE)
        .order_by(Point.number)
    ).all()  # a split numbers its points on: 2, 3, 4
    _hide(db, letter, moderator, point=second)
    _hide(db, hidden, moderator)
    for observation in (letter, other):
        row = triage_of(observation)
        if row.state is TriageState.RECEIVED:
            moderation.transition(
                db.session, row, "admit", actor=moderator, seen_lock=row.lock_version
            )
            db.session.commit()
    _close(db, letter.round)
    point = db.session.scalar(select(Point).where(Point.observation_id == other.id))
    decide(point, Outcome.NOT_RELEVANT, "Fuori tema.", make_user(Role.EDITOR))

    got = _compare(db, letter.round_id, monkeypatch)
    texts = {r["point"]: r["text"] for r in got}
    assert texts[first.label].endswith("Lo segnala Mario [omissis]")
    assert texts[second.label] is None  # hidden
    assert "Una sintesi del moderatore." in texts.values()
    assert texts[f"{hidden.protocol_code}/1"] is None
    assert [r["name"] for r in got if r["protocol"] == other.protocol_code] != [None]
    assert texts[f"{other.protocol_code}/1"] == other.body_text
