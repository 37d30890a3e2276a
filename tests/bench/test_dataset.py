"""The benchmark data set (bench/dataset): the generator runs, its data is what the app would
have made, the same seed gives the same data, and every page ``make bench`` measures answers."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.core.audit import AuditEntry
from app.observations import receipts
from app.observations.files import check_attachment
from app.observations.models import Attachment, Observation, ObservationState, Target
from app.plans.models import LineageKind, Paragraph, ParagraphLineage, PlanVersion, VersionStatus
from app.plans.operations import lineage_kinds
from app.rounds.models import ProtocolCounter, Round, RoundState
from app.rounds.permissions import can_submit
from app.stakeholders.models import Organisation
from bench.dataset import PASSWORD, SCALES
from bench.pages import PAGES, api_body, form_fields
from tests.conftest import wipe
from tests.fixtures.factories import csrf_token, login

NOW = "2026-11-20T10:00:00"


def seed(app, tmp_path, name="manifest.json", seed_value=7, now=NOW):
    path = tmp_path / name
    result = app.test_cli_runner().invoke(
        args=["bench", "seed", "--scale", "small", "--seed", str(seed_value), "--now", now,
              "--manifest", str(path)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


def fingerprint(db) -> str:
    """Everything that should not depend on the run: texts, keys, numbers, digests."""
    rows = [
        *db.session.execute(
            select(
                Paragraph.version_id, Paragraph.key, Paragraph.position, Paragraph.html
            ).order_by(Paragraph.version_id, Paragraph.key)
        ),
        *db.session.execute(
            select(
                Observation.protocol_code, Observation.digest, Observation.organisation_id
            ).order_by(Observation.protocol_number)
        ),
        *db.session.execute(select(Organisation.name).order_by(Organisation.id)),
        *db.session.execute(select(Attachment.sha256).order_by(Attachment.id)),
    ]
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


@pytest.fixture
def seeded(app, db, tmp_path):
    return seed(app, tmp_path)


def test_small_data_set_is_what_the_app_would_have_made(db, seeded):
    scale = SCALES["small"]
    round_ = db.session.get(Round, seeded["round_id"])
    assert round_.state is RoundState.OPEN
    assert round_.is_open_at(datetime.fromisoformat(NOW).replace(tzinfo=UTC))
    consulted, response = db.session.scalars(select(PlanVersion).order_by(PlanVersion.number)).all()
    assert round_.plan_version_id == consulted.id
    assert consulted.status is VersionStatus.FROZEN
    assert response.status is VersionStatus.DRAFT and response.predecessor_id == consulted.id
    count = db.session.scalar(
        select(func.count()).select_from(Paragraph).where(Paragraph.version_id == consulted.id)
    )
    assert count == scale.paragraphs
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == scale.organisations

    # Lineage: every old paragraph continues or is removed, every new one comes from somewhere,
    # the stored kinds are those the operations compute, and about 10 % changed.
    rows = db.session.scalars(
        select(ParagraphLineage).where(ParagraphLineage.version_id == response.id)
    ).all()
    old_ids = set(
        db.session.scalars(select(Paragraph.id).where(Paragraph.version_id == consulted.id))
    )
    new = {p.id: p for p in db.session.scalars(
        select(Paragraph).where(Paragraph.version_id == response.id))}  # fmt: skip
    assert {r.predecessor_id for r in rows if r.predecessor_id} == old_ids
    assert {r.successor_id for r in rows if r.successor_id} == set(new)
    old_html = dict(
        db.session.execute(
            select(Paragraph.id, Paragraph.html).where(Paragraph.version_id == consulted.id)
        ).all()
    )
    links = [
        (r.predecessor_id, r.successor_id,
         r.predecessor_id is not None and r.successor_id is not None
         and old_html[r.predecessor_id] == new[r.successor_id].html)
        for r in rows
    ]  # fmt: skip
    assert [r.kind for r in rows] == lineage_kinds(links)
    kinds = Counter(r.kind for r in rows)
    changed = len(rows) - kinds[LineageKind.CARRIED]
    assert 0.07 * scale.paragraphs <= changed <= 0.15 * scale.paragraphs
    assert {LineageKind.EDITED, LineageKind.SPLIT, LineageKind.MERGED} <= set(kinds)
    assert {LineageKind.ADDED, LineageKind.REMOVED} <= set(kinds)

    # Observations: gap-free numbers, the counter at the last, digests and receipts that verify,
    # anchors in the consulted text, eligible organisations, audit entries for each.
    observations = db.session.scalars(
        select(Observation).order_by(Observation.protocol_number)
    ).all()
    assert len(observations) == scale.observations == seeded["observations"]
    assert [o.protocol_number for o in observations] == list(range(1, scale.observations + 1))
    counter = db.session.get(ProtocolCounter, round_.id)
    assert counter.last_number == scale.observations
    for observation in observations:
        assert observation.state in (ObservationState.SUBMITTED, ObservationState.WITHDRAWN)
        assert observation.digest == receipts.digest(observation)
        assert receipts.code_matches(
            observation, receipts.verification_code(observation.protocol_code)
        )
        if observation.paragraph is not None:
            assert observation.paragraph.version_id == consulted.id
            assert observation.section_id == observation.paragraph.section_id
        if observation.target is Target.PASSAGE:
            text = observation.paragraph.text
            assert text[observation.quote_start : observation.quote_end] == observation.quote_text
    submitted = Counter(
        db.session.scalars(
            select(AuditEntry.object_id).where(AuditEntry.action == "observation.submitted")
        )
    )
    assert submitted == Counter(str(o.id) for o in observations)
    referents = {o.author for o in observations if o.author.organisation_id}
    assert all(can_submit(user, round_) for user in referents)

    # Moderation: a triage row and point 1 for each, about two points per observation, and
    # the points of one observation cover its text exactly once.
    from app.moderation.models import Triage
    from app.observations.models import Point

    assert db.session.scalar(select(func.count()).select_from(Triage)) == scale.observations
    all_points = db.session.scalars(select(Point).order_by(Point.observation_id, Point.number))
    by_observation: dict[int, list] = {}
    for point in all_points:
        by_observation.setdefault(point.observation_id, []).append(point)
    assert set(by_observation) == {o.id for o in observations}
    assert 1.6 * scale.observations <= sum(map(len, by_observation.values())) == seeded["points"]
    assert seeded["points"] <= 2.4 * scale.observations
    for observation in observations[:200]:
        parts = by_observation[observation.id]
        assert [p.number for p in parts] == list(range(1, len(parts) + 1))
        assert "".join(p.excerpt for p in parts) == observation.body_text
        assert parts[0].target is observation.target

    # Campaigns: many observations share a title and nearly the same letter.
    titles = Counter(o.title for o in observations)
    assert titles.most_common(1)[0][1] >= 50
    # Attachments: real documents with text that pass the upload checks.
    attachments = db.session.scalars(select(Attachment)).all()
    assert len(attachments) >= 50
    for attachment in attachments[:30]:
        checked = check_attachment(attachment.filename, attachment.data, max_bytes=10 << 20)
        assert (checked.content_type, checked.sha256) == (
            attachment.content_type,
            attachment.sha256,
        )
        assert b"Campagna" in attachment.data or len(attachment.data) > 300

    mine = db.session.scalar(
        select(func.count()).select_from(Observation).join(User, User.id == Observation.author_id)
        .where(Observation.organisation_id == db.session.scalar(
            select(User.organisation_id).where(User.email == seeded["referent_email"])))
    )  # fmt: skip
    assert mine == seeded["mine_count"] > 0


def test_the_same_seed_gives_the_same_data(app, db, tmp_path):
    seed(app, tmp_path, "first.json")
    first = fingerprint(db)
    db.session.remove()
    wipe(db)
    seed(app, tmp_path, "second.json")
    assert fingerprint(db) == first
    db.session.remove()
    wipe(db)
    seed(app, tmp_path, "third.json", seed_value=8)
    assert fingerprint(db) != first


def test_seeding_refuses_a_database_with_data(app, seeded, tmp_path):
    result = app.test_cli_runner().invoke(args=["bench", "seed", "--scale", "small"])
    assert result.exit_code != 0
    assert "empty database" in result.output


def test_every_benchmarked_page_answers_as_expected(app, db, tmp_path):
    # Seeded around the present moment, so that the round takes submissions now.
    seeded = seed(app, tmp_path, now=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    clients = {}
    for page in PAGES:
        client = clients.get(page.user)
        if client is None:
            client = clients[page.user] = app.test_client()
            if page.user:
                assert login(client, seeded[page.user], PASSWORD).status_code == 302
        path = page.path(seeded)
        if page.kind == "get":
            response = client.get(path)
        elif page.kind == "form":
            token = csrf_token(client, path)
            response = client.post(path, data=form_fields(token, "test-1"))
        else:
            response = client.post(
                path,
                json=api_body("test-1"),
                headers={"Authorization": f"Bearer {seeded['api_token']}", "Idempotency-Key": "k1"},
            )
        assert response.status_code == page.expect, (page.name, response.status_code)
        if page.name == "receipt":
            code = receipts.verification_code(
                re.search(r"[A-Z0-9]+-\d{4}", response.get_data(as_text=True)).group(0)
            )
            assert code in response.get_data(as_text=True)


def test_a_database_seeded_earlier_is_found_again(db, seeded):
    """What bench/grouping.py and bench/moderation_queue.py --seeded read instead of the
    manifest: the same round, counts and busiest section."""
    from bench.dataset import seeded as found

    again = found(db.session)
    assert again["round_id"] == seeded["round_id"]
    assert again["observations"] == seeded["observations"]
    assert again["points"] == seeded["points"]
    assert again["round_section_key"] == seeded["round_section_key"]
