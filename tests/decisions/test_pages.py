"""The decision pages: who reaches each, the editor's flow through the forms, the trace page,
coverage and concluding, statements per page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.ratelimit import limiter
from app.decisions import operations
from app.decisions.models import Decision, Outcome
from app.observations import operations as observations
from app.observations import receipts
from app.rounds.models import ConclusionOverride, Round, RoundState
from tests.decisions.conftest import triage_of
from tests.fixtures.factories import csrf_token, login
from tests.moderation.test_queue import count_statements

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


@pytest.fixture(autouse=True)
def _fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


def _publish(db, s, point, reasoning="Non coerente con gli obiettivi del piano."):
    decision = operations.save(
        db.session, point, operations.Draft(Outcome.NOT_ACCEPTED, reasoning, None), actor=s.editor
    )
    db.session.commit()
    operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    return decision


# Who reaches what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_reaches_each_page(db, client, setting, make_user, role):
    s = setting(n=1)
    [point] = s.points
    template = operations.create_template(
        db.session,
        title="Fuori ambito",
        body="Non riguarda il piano.",
        outcome=None,
        actor=s.editor,
    )
    db.session.commit()
    user = make_user(role)
    login(client, user)
    editor = role in (Role.ADMIN, Role.EDITOR)
    staff = role in (Role.ADMIN, Role.EDITOR, Role.MODERATOR)
    expected = {
        "/decisions/": 200 if editor else 403,
        f"/decisions/rounds/{s.round.id}/": 200 if editor else 403,
        f"/decisions/points/{point.id}/": 200 if editor else 403,
        f"/decisions/rounds/{s.round.id}/coverage": 200 if staff else 403,
        f"/decisions/rounds/{s.round.id}/settings": 200
        if role in (Role.ADMIN, Role.MODERATOR)
        else 403,
        "/decisions/templates/": 200 if editor else 403,
        f"/decisions/templates/{template.id}/edit": 200 if editor else 403,
        # the round publishes its observations after the close: anyone reads the trace
        f"/decisions/trace/{s.observations[0].id}": 200,
        "/decisions/trace": 200,
    }
    got = {path: client.get(path).status_code for path in expected}
    assert got == expected
    token = csrf_token(client, "/decisions/trace")
    # nobody but the assigned editor writes this point's decision
    for path in (
        f"/decisions/points/{point.id}/save",
        f"/decisions/points/{point.id}/publish",
    ):
        response = client.post(path, data={"csrf_token": token, "outcome": "accepted"})
        assert response.status_code == 403, (role, path)
    publish_round = client.post(
        f"/decisions/rounds/{s.round.id}/publish", data={"csrf_token": token, "confirmed": "1"}
    )
    assert publish_round.status_code == (302 if editor else 403)
    archive = client.post(f"/decisions/templates/{template.id}/archive", data={"csrf_token": token})
    assert archive.status_code == (302 if editor else 403)


def test_anonymous_visitors(db, client, setting):
    s = setting(n=1)
    for path in (
        "/decisions/",
        f"/decisions/rounds/{s.round.id}/",
        f"/decisions/points/{s.points[0].id}/",
        "/decisions/templates/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/decisions/trace/{s.observations[0].id}").status_code == 200
    assert client.get("/decisions/trace/999999").status_code == 404


def test_a_moderator_sets_who_decides_and_which_outcomes_need_no_reasoning(db, client, setting):
    s = setting(n=1)
    login(client, s.moderator)
    path = f"/decisions/rounds/{s.round.id}/settings"
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "any_editor": "y",
            "reasoning_optional": ["not_relevant"],
        },
    )
    assert response.status_code == 302
    stored = operations.settings_of(db.session, db.session.get(Round, s.round.id))
    assert stored.any_editor and stored.optional_outcomes == {Outcome.NOT_RELEVANT}
    from app.decisions.permissions import can_decide_point

    assert can_decide_point(s.other_editor, s.points[0])


# The editor's flow -------------------------------------------------------------------------


def test_an_editor_decides_through_the_form(db, client, setting, smtp):
    from app.notifications.operations import deliver_due

    s = setting(n=1)
    [point] = s.points
    login(client, s.editor)
    page = client.get(f"/decisions/points/{point.id}/").get_data(as_text=True)
    assert "Punto 1" in page and point.label in page
    token = csrf_token(client, f"/decisions/points/{point.id}/")
    refused = client.post(
        f"/decisions/points/{point.id}/save",
        data={"csrf_token": token, "outcome": "not_accepted", "reasoning": "x" * 20_001},
    )
    assert refused.status_code == 422
    assert db.session.scalar(select(Decision)) is None
    saved = client.post(
        f"/decisions/points/{point.id}/save",
        data={
            "csrf_token": token,
            "outcome": "not_accepted",
            "reasoning": "Il tema è trattato nel piano di settore.",
            "lock_version": "",
        },
    )
    assert saved.status_code == 302
    decision = db.session.scalar(select(Decision))
    asked = client.post(
        f"/decisions/points/{point.id}/publish",
        data={"csrf_token": token, "lock_version": decision.lock_version},
    )
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Decision, decision.id).published
    done = client.post(
        f"/decisions/points/{point.id}/publish",
        data={"csrf_token": token, "lock_version": decision.lock_version, "confirmed": "1"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).published
    deliver_due(db.session)
    assert len(smtp.inbox.to(s.author.email)) == 1


def test_a_stale_form_is_refused_and_shows_the_current_text(db, client, setting):
    s = setting(n=1)
    [point] = s.points
    decision = operations.save(
        db.session,
        point,
        operations.Draft(Outcome.NOT_ACCEPTED, "Testo di Anna", None),
        actor=s.editor,
    )
    db.session.commit()
    seen = decision.lock_version
    operations.save(
        db.session,
        point,
        operations.Draft(Outcome.NOT_ACCEPTED, "Anna corregge", seen),
        actor=s.editor,
    )
    db.session.commit()
    login(client, s.editor)
    token = csrf_token(client, f"/decisions/points/{point.id}/")
    response = client.post(
        f"/decisions/points/{point.id}/save",
        data={
            "csrf_token": token,
            "outcome": "accepted",
            "reasoning": "Il mio testo",
            "lock_version": str(seen),
        },
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Anna corregge" in page and "Il mio testo" in page
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).reasoning == "Anna corregge"


def test_a_refused_round_publication_lists_the_invalid_ones(db, client, setting):
    s = setting(n=2)
    for point, reasoning in zip(s.points, ("Motivata", ""), strict=True):
        operations.save(
            db.session,
            point,
            operations.Draft(Outcome.NOT_ACCEPTED, reasoning, None),
            actor=s.editor,
        )
    db.session.commit()
    login(client, s.editor)
    token = csrf_token(client, f"/decisions/rounds/{s.round.id}/")
    response = client.post(
        f"/decisions/rounds/{s.round.id}/publish", data={"csrf_token": token, "confirmed": "1"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert s.points[1].label in page and s.points[0].label not in page
    db.session.expire_all()
    assert not any(d.published for d in db.session.scalars(select(Decision)))


def test_the_template_picker_fills_the_reasoning(db, client, setting):
    s = setting(n=1)
    template = operations.create_template(
        db.session,
        title="Fuori ambito",
        body="Non riguarda i contenuti del piano.",
        outcome=Outcome.NOT_RELEVANT,
        actor=s.editor,
    )
    db.session.commit()
    login(client, s.editor)
    page = client.get(f"/decisions/points/{s.points[0].id}/?template={template.id}").get_data(
        as_text=True
    )
    assert "Non riguarda i contenuti del piano." in page
    assert re.search(r'<option selected value="not_relevant"|value="not_relevant" selected', page)


def test_the_workspace_filters_mine_and_all(db, client, setting):
    s = setting(n=2)
    _publish(db, s, s.points[0])
    login(client, s.other_editor)
    mine = client.get(f"/decisions/rounds/{s.round.id}/").get_data(as_text=True)
    assert s.points[0].label not in mine  # nothing is assigned to Bruno
    everything = client.get(f"/decisions/rounds/{s.round.id}/?scope=all").get_data(as_text=True)
    assert s.points[0].label in everything and s.points[1].label in everything
    published = client.get(f"/decisions/rounds/{s.round.id}/?scope=all&state=published").get_data(
        as_text=True
    )
    assert s.points[0].label in published and s.points[1].label not in published
    rejected = client.get(f"/decisions/rounds/{s.round.id}/?scope=all&outcome=accepted").get_data(
        as_text=True
    )
    assert s.points[0].label not in rejected
    assert client.get(f"/decisions/rounds/{s.round.id}/?scope=all&page=x").status_code == 200


# Where did my point go ---------------------------------------------------------------------


def _trace(client, protocol, code):
    token = csrf_token(client, "/decisions/trace")
    return client.post(
        "/decisions/trace", data={"csrf_token": token, "protocol": protocol, "code": code}
    )


def _private(db, round_):
    round_ = db.session.get(Round, round_.id)
    round_.publish_after_close = False
    db.session.commit()


def test_the_trace_page_from_the_receipt(db, client, setting):
    s = setting(n=1)
    _private(db, s.round)
    _publish(db, s, s.points[0], reasoning="Non coerente con gli obiettivi del piano.")
    observation = s.observations[0]
    code = receipts.verification_code(observation.protocol_code)
    right = _trace(client, observation.protocol_code, code)
    assert right.status_code == 200
    page = right.get_data(as_text=True)
    assert "Non coerente con gli obiettivi del piano." in page and "Punto 1" in page
    wrong = _trace(client, observation.protocol_code, "AAAAA-AAAAA")
    unknown = _trace(client, "NESSUNO-9999", "AAAAA-AAAAA")
    assert wrong.status_code == unknown.status_code == 404

    def strip(response):
        return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))

    assert strip(wrong) == strip(unknown).replace("NESSUNO-9999", observation.protocol_code)
    assert "Non coerente" not in strip(wrong)


def test_guessing_codes_is_rate_limited(db, client, config, setting):
    s = setting(n=1)
    config["TRACK_ATTEMPTS_PER_MINUTE"] = 2
    statuses = [
        _trace(client, s.observations[0].protocol_code, f"AAAAA-AAAA{i}").status_code
        for i in range(3)
    ]
    assert statuses == [404, 404, 429]


def test_the_trace_page_of_a_round_that_keeps_observations_private(
    db, client, setting, make_referent, make_comune
):
    s = setting(n=1)
    _private(db, s.round)
    _publish(db, s, s.points[0])
    path = f"/decisions/trace/{s.observations[0].id}"
    assert client.get(path).status_code == 302  # anonymous: log in first
    login(client, make_referent(make_comune()))
    assert client.get(path).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, s.author)
    page = client.get(path)
    assert page.status_code == 200 and "Non coerente" in page.get_data(as_text=True)


def test_a_public_round_shows_the_trace_to_anyone_once_closed(db, client, setting):
    s = setting(n=1, state=RoundState.OPEN)
    path = f"/decisions/trace/{s.observations[0].id}"
    assert client.get(path).status_code == 302  # still open: not public yet
    from app.rounds import operations as rounds

    rounds.change_state(db.session, db.session.get(Round, s.round.id), "close", actor=None)
    db.session.commit()
    _publish(db, s, s.points[0])
    response = client.get(path)
    assert response.status_code == 200 and "Non coerente" in response.get_data(as_text=True)


def test_the_public_reads_the_trace_as_published(db, client, setting):
    """Anyone reaches a public round's trace pages after the close, and reads what the public
    list shows: the redacted text, no title; a hidden observation is not there for them. Its
    author still reads the original."""
    from app.moderation import redaction

    s = setting(n=2)
    _publish(db, s, s.points[0])
    first, second = s.observations
    for observation, act in ((first, "redact"), (second, "hide")):
        triage = triage_of(observation)
        if act == "redact":
            start, end = redaction.locate(observation.body_text, "Punto")
            redaction.redact(
                db.session,
                triage,
                start=start,
                end=end,
                reason="Dati personali",
                actor=s.moderator,
                seen_lock=triage.lock_version,
            )
        else:
            redaction.hide(
                db.session,
                triage,
                point=None,
                reason="Offensivo",
                actor=s.moderator,
                seen_lock=triage.lock_version,
            )
        db.session.commit()

    public = client.get(f"/decisions/trace/{first.id}").get_data(as_text=True)
    assert "<p>[omissis] 1</p>" in public and "<p>Punto 1</p>" not in public
    assert "Osservazione 1" not in public  # titles are not published
    assert "Non coerente" in public  # the outcome and its reasoning are
    assert client.get(f"/decisions/trace/{second.id}").status_code == 404

    login(client, s.author)
    own = client.get(f"/decisions/trace/{first.id}").get_data(as_text=True)
    assert "<p>Punto 1</p>" in own and "Osservazione 1" in own
    assert client.get(f"/decisions/trace/{second.id}").status_code == 200


def test_a_draft_decision_is_not_on_the_trace_page(db, client, setting):
    s = setting(n=1)
    operations.save(
        db.session,
        s.points[0],
        operations.Draft(Outcome.NOT_ACCEPTED, "Bozza riservata", None),
        actor=s.editor,
    )
    db.session.commit()
    page = client.get(f"/decisions/trace/{s.observations[0].id}").get_data(as_text=True)
    assert "Bozza riservata" not in page


def test_a_withdrawn_observation_says_so_and_shows_no_decision(db, client, setting):
    s = setting(n=1, state=RoundState.OPEN)
    operations.configure(
        db.session, s.round, any_editor=False, reasoning_optional=(), actor=s.moderator
    )
    decision = operations.save(
        db.session,
        s.points[0],
        operations.Draft(Outcome.NOT_ACCEPTED, "Decisione prima del ritiro", None),
        actor=s.editor,
    )
    db.session.commit()
    operations.publish(db.session, s.points[0], actor=s.editor, seen_lock=decision.lock_version)
    db.session.commit()
    observations.withdraw(db.session, s.observations[0], user=s.author, reason="Ritirata")
    db.session.commit()
    login(client, s.author)
    page = client.get(f"/decisions/trace/{s.observations[0].id}").get_data(as_text=True)
    assert "trace-withdrawn" in page and "Decisione prima del ritiro" not in page


def test_my_observations_and_the_receipt_link_to_the_trace(db, client, setting):
    s = setting(n=1)
    login(client, s.author)
    path = f"/decisions/trace/{s.observations[0].id}"
    assert path in client.get("/observations/mine").get_data(as_text=True)
    assert path in client.get(f"/observations/{s.observations[0].id}/").get_data(as_text=True)


# Coverage and concluding -------------------------------------------------------------------


def test_coverage_lists_undecided_points_and_concluding_waits_for_it(
    db, client, setting, make_user
):
    s = setting(n=2, state=RoundState.IN_REVIEW)
    admin = make_user(Role.ADMIN)
    login(client, s.editor)
    page = client.get(f"/decisions/rounds/{s.round.id}/coverage").get_data(as_text=True)
    assert s.points[0].label in page and s.points[1].label in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, s.moderator)
    token = csrf_token(client, f"/rounds/{s.round.id}/")
    refused = client.post(
        f"/rounds/{s.round.id}/state",
        data={"csrf_token": token, "action": "conclude", "confirmed": "1"},
    )
    assert refused.status_code == 409
    assert "2 admissible points have no published decision" in refused.get_data(as_text=True) or (
        "2 punti" in refused.get_data(as_text=True)
    )
    forced = client.post(
        f"/rounds/{s.round.id}/state",
        data={
            "csrf_token": token,
            "action": "conclude",
            "confirmed": "1",
            "override_reason": "Scadenza del consiglio",
        },
    )
    assert forced.status_code == 409  # a moderator may not override
    db.session.expire_all()
    assert db.session.get(Round, s.round.id).state is RoundState.IN_REVIEW
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, admin)
    token = csrf_token(client, f"/rounds/{s.round.id}/")
    done = client.post(
        f"/rounds/{s.round.id}/state",
        data={
            "csrf_token": token,
            "action": "conclude",
            "confirmed": "1",
            "override_reason": "Scadenza del consiglio metropolitano",
        },
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Round, s.round.id).state is RoundState.CONCLUDED
    [override] = db.session.scalars(select(ConclusionOverride)).all()
    assert (
        override.reason == "Scadenza del consiglio metropolitano" and override.actor_id == admin.id
    )
    assert "decision" in override.gaps or "decisione" in override.gaps


def test_the_coverage_list_reads_the_points_labels_not_the_letters(db, client, setting):
    s = setting(n=3, state=RoundState.IN_REVIEW)
    login(client, s.editor)
    with count_statements(db.engine) as statements:
        page = client.get(f"/decisions/rounds/{s.round.id}/coverage").get_data(as_text=True)
    assert all(point.label in page for point in s.points)
    # 200 undecided points of a large round: their labels, not each letter with its round,
    # organisation and author (a sort of kilobyte rows, and eight joins to plan)
    listing = [s for s in statements if "ORDER BY observations.protocol_number" in s]
    assert len(listing) == 1 and "body_text" not in listing[0] and "users" not in listing[0]


def test_a_fully_decided_round_concludes(db, setting, make_successor):
    from app.plans import operations as plans
    from app.rounds import operations as rounds

    s = setting(n=1, state=RoundState.IN_REVIEW)
    _publish(db, s, s.points[0])
    round_ = db.session.get(Round, s.round.id)
    response = make_successor(round_.version)  # nothing changed: nothing to link
    round_.response_version_id = response.id
    plans.freeze_version(db.session, response)
    db.session.commit()
    assert triage_of(s.observations[0]).state.value == "decided"
    rounds.change_state(db.session, db.session.get(Round, s.round.id), "conclude", actor=None)
    db.session.commit()
    assert db.session.get(Round, s.round.id).state is RoundState.CONCLUDED


# Statements per page -----------------------------------------------------------------------


def _statements(db, client, paths) -> dict:
    counts = {}
    for name, path in paths.items():
        with count_statements(db.engine) as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[name] = len(statements)
    return counts


def test_statements_per_page_do_not_grow_with_the_round(
    db, client, setting, make_user, make_successor
):
    from tests.decisions.test_links import _respond

    admin = make_user(Role.ADMIN)
    results = []
    for n in (2, 12):
        s = setting(n=n)
        response, first, _original, change = _respond(db, make_successor, s.round)
        plan = f"/plans/{response.plan.slug}"
        for point in s.points:  # every point accepted, linked to the same change
            decision = operations.save(
                db.session,
                point,
                operations.Draft(Outcome.ACCEPTED, "Accolta.", None, [change.id]),
                actor=s.editor,
            )
            db.session.commit()
            operations.publish(db.session, point, actor=s.editor, seen_lock=decision.lock_version)
            db.session.commit()
        login(client, admin)
        results.append(
            _statements(
                db,
                client,
                {
                    "workspace": f"/decisions/rounds/{s.round.id}/?scope=all",
                    "point": f"/decisions/points/{s.points[0].id}/",
                    "coverage": f"/decisions/rounds/{s.round.id}/coverage",
                    "trace": f"/decisions/trace/{s.observations[0].id}",
                    # "perché è cambiato?": the response version's section, the comparison
                    "section": f"{plan}/v{response.number}/s/{first.section.key}",
                    "comparison": f"{plan}/diff?old={s.round.version.number}&new={response.number}",
                },
            )
        )
        page = client.get(f"{plan}/v{response.number}/s/{first.section.key}").get_data(as_text=True)
        assert "Perché è cambiato?" in page
        assert all(point.label in page for point in s.points)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    small, large = results
    assert small == large
    assert max(small.values()) <= 25, small


def test_a_not_admissible_observation_says_why(db, client, setting):
    from app.moderation import operations as moderation

    s = setting(n=1, admit=False)
    triage = triage_of(s.observations[0])
    moderation.transition(
        db.session,
        triage,
        "reject",
        actor=s.moderator,
        seen_lock=triage.lock_version,
        reason="Riguarda un altro piano",
    )
    db.session.commit()
    path = f"/decisions/trace/{s.observations[0].id}"
    # not published, so not there for the public; its author reads why
    assert client.get(path).status_code == 404
    login(client, s.author)
    page = client.get(path).get_data(as_text=True)
    assert "trace-not-admissible" in page and "Riguarda un altro piano" in page
