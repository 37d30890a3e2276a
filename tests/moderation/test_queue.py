"""The queue: who sees it, what each filter keeps, hostile input, and statements per page."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from werkzeug.datastructures import MultiDict

from app.accounts.models import Role
from app.core.db import utcnow
from app.moderation import operations, queries
from app.moderation.models import TriageState
from app.moderation.queries import QueueFilter
from app.observations import operations as observations
from app.observations.models import Channel, ObservationKind, Target
from app.plans.tree import load_tree
from app.rounds.models import RoundState
from app.stakeholders.models import OrganisationKind
from tests.fixtures.factories import login
from tests.moderation.conftest import triage_of
from tests.moderation.documents import pdf_with_text

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


@contextlib.contextmanager
def count_statements(engine):
    counted = []

    def before(conn, cursor, statement, parameters, context, executemany):
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def scene(
    db,
    make_round,
    make_comune,
    make_zone,
    make_group,
    make_referent,
    make_observation,
    make_organisation,
    make_user,
):
    """A round with observations that differ in one way each."""
    round_ = make_round()
    zone = make_zone("Nord Ovest")
    rho = make_comune("Comune di Rho", zone=zone)
    university = make_organisation("Politecnico", kind=OrganisationKind.UNIVERSITA)
    group = make_group("Tavolo metropolitano", members=[university])
    rho_ref, uni_ref = make_referent(rho), make_referent(university)
    round_.set_kinds({OrganisationKind.COMUNE, OrganisationKind.UNIVERSITA})
    db.session.commit()
    by = {}
    by["plain"] = make_observation(round_, rho_ref, title="Semplice")
    by["suggestion"] = make_observation(
        round_, rho_ref, title="Suggerimento", kind=ObservationKind.SUGGESTION
    )
    by["university"] = make_observation(round_, uni_ref, title="Dal Politecnico")
    by["attached"] = make_observation(
        round_,
        rho_ref,
        title="Con allegato",
        files=[("a.pdf", pdf_with_text("Metropolitana leggera"))],
    )
    by["late"] = make_observation(round_, rho_ref, title="In ritardo")
    db.session.execute(
        text("UPDATE observations SET late = :t WHERE id = :i"), {"t": True, "i": by["late"].id}
    )
    section = load_tree(db.session, round_.version).roots[0].section
    anchored = observations.start_draft(
        db.session, round_, author=rho_ref, anchor=observations.Anchor(Target.SECTION, section)
    )
    observations.save_draft(
        db.session,
        anchored,
        user=rho_ref,
        title="Sulla sezione",
        body_html="<p>x</p>",
        kind=ObservationKind.OBSERVATION,
        proposed_text=None,
        consent_public_name=False,
    )
    observations.submit(db.session, anchored, actor=rho_ref, send_receipt=False)
    by["section"] = anchored
    by["pec"] = observations.record_intake(
        db.session,
        round_,
        actor=make_user(Role.MODERATOR),
        organisation=rho,
        channel=Channel.PEC,
        received_at=utcnow() - timedelta(minutes=5),
        signatory=None,
        anchor=observations.Anchor(Target.PLAN),
        kind=ObservationKind.OBSERVATION,
        title="Per PEC",
        body_html="<p>y</p>",
        proposed_text=None,
        consent_public_name=False,
        originals=[("p.pdf", pdf_with_text("Protocollo"))],
    )
    db.session.commit()
    operations.transition(
        db.session, triage_of(by["plain"]), "admit", actor=make_user(Role.MODERATOR), seen_lock=1
    )
    db.session.commit()
    make_observation(make_round(), rho_ref, title="Altra consultazione")
    return round_, by, {"zone": zone, "group": group, "section": section}


def _titles(db, round_, **values) -> set[str]:
    page = queries.queue_page(db.session, round_, QueueFilter(**values), per_page=100)
    return {row.observation.title for row in page.rows}


def test_every_filter_keeps_what_it_names(db, scene):
    round_, by, things = scene
    everything = {o.title for o in by.values()}
    assert _titles(db, round_) == everything
    assert _titles(db, round_, states=(TriageState.ADMISSIBLE,)) == {"Semplice"}
    assert _titles(db, round_, states=(TriageState.RECEIVED,)) == everything - {"Semplice"}
    assert _titles(db, round_, section_ids=(things["section"].id,)) == {"Sulla sezione"}
    assert _titles(db, round_, general=True) == everything - {"Sulla sezione"}
    assert _titles(db, round_, kind=ObservationKind.SUGGESTION) == {"Suggerimento"}
    assert _titles(db, round_, organisation_kind=OrganisationKind.UNIVERSITA) == {"Dal Politecnico"}
    assert _titles(db, round_, group_id=things["group"].id) == {"Dal Politecnico"}
    assert _titles(db, round_, zone_id=things["zone"].id) == everything - {"Dal Politecnico"}
    assert _titles(db, round_, channel=Channel.PEC) == {"Per PEC"}
    assert _titles(db, round_, late=True) == {"In ritardo"}
    assert _titles(db, round_, has_attachments=True) == {"Con allegato", "Per PEC"}
    assert _titles(db, round_, words=("metropolitana",)) == {"Con allegato"}
    assert _titles(db, round_, words=("metropolitana",), has_attachments=False) == set()


def test_sorting_and_pages(db, scene):
    round_, by, _things = scene
    pages = [
        queries.queue_page(db.session, round_, QueueFilter(sort="protocol"), page=n, per_page=25)
        for n in (1, 2)
    ]
    numbers = [row.observation.protocol_number for row in pages[0].rows]
    assert numbers == sorted(numbers) and len(numbers) == len(by) and pages[1].rows == []
    assert pages[0].total == len(by) and pages[0].pages == 1
    titles = [
        r.observation.title
        for r in queries.queue_page(db.session, round_, QueueFilter(sort="title")).rows
    ]
    assert titles == sorted(titles)


def test_a_query_string_becomes_a_filter_with_its_problems_named():
    args = MultiDict(
        [
            ("state", "received"),
            ("state", "nonsense"),
            ("kind", "suggestion"),
            ("group_id", "12345678901234"),
            ("late", "maybe"),
            ("sort", "'; DROP"),
            ("q", "ciclabili"),
            ("section", "general"),
        ]
    )
    chosen, problems = QueueFilter.from_args(args)
    assert chosen.states == (TriageState.RECEIVED,)
    assert chosen.kind is ObservationKind.SUGGESTION and chosen.group_id is None
    assert chosen.late is None and chosen.sort == "waiting" and chosen.general
    assert chosen.words == ("ciclabili",)
    assert len(problems) == 1  # the same message once


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_queue(db, client, make_round, make_user, role):
    round_ = make_round()
    login(client, make_user(role))
    response = client.get(f"/moderation/rounds/{round_.id}/queue")
    assert response.status_code == (200 if role in (Role.ADMIN, Role.MODERATOR) else 403)
    link = f"/moderation/rounds/{round_.id}/queue"
    page = client.get(f"/rounds/{round_.id}/").get_data(as_text=True)
    assert (link in page) == (role in (Role.ADMIN, Role.MODERATOR))


def test_a_round_in_preparation_has_no_queue(client, make_round, moderator):
    round_ = make_round(state=RoundState.DRAFT)
    login(client, moderator)
    assert client.get(f"/moderation/rounds/{round_.id}/queue").status_code == 404
    assert client.get("/moderation/rounds/99999999/queue").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "mobilità" * 1250,
        'q="*()',
        "q=NEAR(a b)&state=x&group_id=-1&zone_id=1e9&page=-3&per_page=100000",
        "q=%27%3B+DROP+TABLE+observations%3B--",
        "section=999999&page=99999999999",
        "late=yes&has_attachments=no&sort=organisation&channel=pec&organisation_kind=comune",
    ],
)
def test_hostile_query_strings_get_a_page(db, client, scene, moderator, query):
    round_, by, _things = scene
    login(client, moderator)
    response = client.get(f"/moderation/rounds/{round_.id}/queue?{query}")
    assert response.status_code == 200
    assert len(triage_of(by["plain"]).observation.round.title) > 0  # still there


def test_the_page_says_what_was_not_understood(client, scene, moderator):
    round_, _by, _things = scene
    login(client, moderator)
    page = client.get(f"/moderation/rounds/{round_.id}/queue?q=" + "x" * 10_000).get_data(
        as_text=True
    )
    assert "200" in page and ("characters" in page or "caratteri" in page)
    page = client.get(f"/moderation/rounds/{round_.id}/queue?q=Metropolitana").get_data(
        as_text=True
    )
    assert "Con allegato" in page and "Semplice" not in page


def _statements_per_page(db, client, round_, referents, make_observation, n):
    for i in range(n):
        make_observation(
            round_,
            referents[i % len(referents)],
            title=f"Numero {i}",
            files=[(f"{i}.pdf", pdf_with_text(f"Allegato {i}"))] if i % 3 == 0 else (),
        )
    counts, base = {}, f"/moderation/rounds/{round_.id}/queue"
    for name, query in {
        "unfiltered": "",
        "filtered": "?state=received&late=no&has_attachments=yes&sort=organisation",
        "searched": "?q=numero&sort=newest&per_page=25",
    }.items():
        with count_statements(db.engine) as statements:
            response = client.get(base + query)
        assert response.status_code == 200
        counts[name] = len(statements)
    return counts


def test_statements_per_page_do_not_grow_with_the_round(
    db, client, make_round, make_comune, make_referent, make_observation, moderator
):
    login(client, moderator)
    small_round, large_round = make_round(), make_round()
    referents = [make_referent(make_comune()) for _ in range(4)]
    small = _statements_per_page(db, client, small_round, referents, make_observation, 4)
    large = _statements_per_page(db, client, large_round, referents, make_observation, 60)
    assert small == large
    assert max(small.values()) <= 15, small
