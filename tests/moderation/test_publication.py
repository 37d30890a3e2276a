"""Publication after the close: redactions (who, when, why; the public reads [omissis], staff
the original), hidden items, the one publication module, and the public list (who sees it,
what it shows, statements per page)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.core.db import utcnow
from app.moderation import operations, publication, redaction, splitting
from app.moderation.models import ModerationError, Redaction
from app.moderation.splitting import PartSpec
from app.observations import operations as observation_operations
from app.observations.models import Point, PointState
from app.plans.anchors import Anchor, Target
from app.plans.tree import load_tree
from app.rounds import operations as rounds
from tests.fixtures.factories import csrf_token, login
from tests.moderation.conftest import triage_of
from tests.moderation.test_queue import count_statements

LETTER = (
    "<p>Il Comune chiede piste ciclabili lungo il Naviglio. Lo segnala Mario Rossi, via Roma 3. "
    "Chiede anche nuovi parcheggi alla stazione.</p>"
)
PERSONAL = "Mario Rossi, via Roma 3"
ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)


def _close(db, round_):
    rounds.change_state(db.session, round_, "close", actor=None, now=utcnow())
    db.session.commit()


def _redact(db, observation, moderator, quote=PERSONAL, reason="Dati personali"):
    triage = triage_of(observation)
    start, end = redaction.locate(observation.body_text, quote)
    row = redaction.redact(
        db.session,
        triage,
        start=start,
        end=end,
        reason=reason,
        actor=moderator,
        seen_lock=triage.lock_version,
    )
    db.session.commit()
    return row


def _hide(db, observation, moderator, point=None):
    triage = triage_of(observation)
    row = redaction.hide(
        db.session,
        triage,
        point=point,
        reason="Offensivo",
        actor=moderator,
        seen_lock=triage.lock_version,
    )
    db.session.commit()
    return row


@pytest.fixture
def letter(registered):
    [observation] = registered(body_html=LETTER)
    return observation


def test_a_redaction_is_what_the_public_reads(db, letter, moderator):
    assert publication.published_text(db.session, letter) is None  # the round is still open
    row = _redact(db, letter, moderator)
    _close(db, letter.round)
    public = publication.published_text(db.session, letter)
    assert PERSONAL not in public and "Lo segnala [omissis]." in public
    assert PERSONAL in letter.body_text  # the original stays, and its digest still verifies
    assert row.created_by_id == moderator.id and row.reason == "Dati personali"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "redaction.added"))
    assert entry.details["redaction_id"] == row.id and "Dati" not in str(entry.details)
    triage = triage_of(letter)
    redaction.lift_redaction(
        db.session, triage, row, actor=moderator, seen_lock=triage.lock_version
    )
    db.session.commit()
    assert PERSONAL in publication.published_text(db.session, letter)


def test_redactions_reach_the_points_they_cross(db, letter, moderator):
    text = letter.body_text
    cut = text.index("Chiede")
    triage = triage_of(letter)
    plan = Anchor(Target.PLAN)
    splitting.split(
        db.session,
        triage,
        [PartSpec(0, cut - 1, None, plan), PartSpec(cut, len(text), None, plan)],
        actor=moderator,
        seen_lock=triage.lock_version,
    )
    db.session.commit()
    _redact(db, letter, moderator, quote="Rossi, via Roma 3. Chiede anche")
    _close(db, letter.round)
    active = db.session.scalars(
        select(Point).where(Point.state == PointState.ACTIVE).order_by(Point.number)
    ).all()
    texts = publication.published_point_texts(db.session, active)
    assert texts[active[0].id].endswith("Lo segnala Mario [omissis]")
    assert texts[active[1].id].startswith("[omissis] nuovi parcheggi")


def test_bad_redactions_are_refused(db, letter, moderator, make_user):
    _redact(db, letter, moderator)
    triage = triage_of(letter)
    for start, end, reason in ((0, 5, ""), (0, 10_000, "x"), (3, 3, "x")):
        with pytest.raises(ModerationError):
            redaction.redact(
                db.session,
                triage,
                start=start,
                end=end,
                reason=reason,
                actor=moderator,
                seen_lock=triage.lock_version,
            )
        db.session.rollback()
    start, _end = redaction.locate(letter.body_text, "Rossi")
    with pytest.raises(ModerationError):  # overlaps the first
        redaction.redact(
            db.session,
            triage_of(letter),
            start=start,
            end=start + 5,
            reason="x",
            actor=moderator,
            seen_lock=triage_of(letter).lock_version,
        )
    db.session.rollback()
    with pytest.raises(ModerationError):
        redaction.locate(letter.body_text, "Giuseppe Verdi")
    with pytest.raises(ModerationError):  # an editor may not
        redaction.redact(
            db.session,
            triage_of(letter),
            start=0,
            end=3,
            reason="x",
            actor=make_user(Role.EDITOR),
            seen_lock=triage_of(letter).lock_version,
        )
    db.session.rollback()
    with pytest.raises(ModerationError):  # a stale page
        redaction.redact(
            db.session, triage_of(letter), start=0, end=3, reason="x", actor=moderator, seen_lock=1
        )
    db.session.rollback()
    assert len(db.session.scalars(select(Redaction)).all()) == 1


def test_a_round_that_does_not_publish_takes_no_redaction(db, letter, moderator):
    letter.round.publish_after_close = False
    db.session.commit()
    with pytest.raises(ModerationError):
        _redact(db, letter, moderator)
    db.session.rollback()
    _close(db, letter.round)
    assert publication.published_text(db.session, letter) is None


def test_hidden_withdrawn_and_not_admissible_are_not_published(db, registered, moderator):
    hidden, withdrawn, refused, shown = registered(4, body_html=LETTER)
    _hide(db, hidden, moderator)
    observation_operations.withdraw(db.session, withdrawn, user=withdrawn.author, reason="Errore")
    operations.transition(
        db.session,
        triage_of(refused),
        "reject",
        actor=moderator,
        seen_lock=triage_of(refused).lock_version,
        reason="Fuori tema",
    )
    db.session.commit()
    round_ = shown.round
    _close(db, round_)
    texts = publication.published_texts(db.session, [hidden, withdrawn, refused, shown])
    assert texts == {
        hidden.id: None,
        withdrawn.id: None,
        refused.id: None,
        shown.id: shown.body_text,
    }
    tree = load_tree(db.session, round_.version, text=False)
    listed = publication.public_select(round_, tree)
    assert [p.observation_id for p in db.session.scalars(listed)] == [shown.id]


def test_a_hidden_point_and_hiding_again(db, letter, moderator):
    [point] = letter.points
    row = _hide(db, letter, moderator, point=point)
    with pytest.raises(ModerationError):  # already hidden
        _hide(db, letter, moderator, point=point)
    db.session.rollback()
    _close(db, letter.round)
    assert publication.published_point_text(db.session, point) is None
    assert publication.published_text(db.session, letter) is not None
    triage = triage_of(letter)
    redaction.show_again(db.session, triage, row, actor=moderator, seen_lock=triage.lock_version)
    db.session.commit()
    assert publication.published_point_text(db.session, point) == letter.body_text
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "publication.hidden" in actions and "publication.shown" in actions


def test_the_name_only_with_consent(db, registered, make_round):
    with_consent, without = registered(2, body_html=LETTER)
    with_consent_row = db.session.get(type(with_consent), with_consent.id)
    db.session.execute(
        type(with_consent)
        .__table__.update()
        .where(type(with_consent).__table__.c.id == with_consent.id)
        .values(consent_public_name=True)
    )
    db.session.commit()
    db.session.refresh(with_consent_row)
    assert publication.public_name(with_consent_row) == with_consent.author.display_name
    assert publication.public_name(without) is None


# Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ALL_ROLES, None])
def test_who_reads_the_public_list(db, app, letter, moderator, make_user, role):
    _redact(db, letter, moderator)
    client = app.test_client()
    if role is not None:
        login(client, make_user(role))
    url = f"/published/rounds/{letter.round_id}"
    assert client.get(url).status_code == 404  # not before the close
    _close(db, letter.round)
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Lo segnala [omissis]." in body and PERSONAL not in body
    assert letter.organisation.name in body
    assert letter.author.display_name not in body  # no consent given


def test_the_public_list_of_a_round_that_does_not_publish_is_not_there(db, client, letter):
    letter.round.publish_after_close = False
    db.session.commit()
    _close(db, letter.round)
    assert client.get(f"/published/rounds/{letter.round_id}").status_code == 404
    assert client.get("/published/rounds/999999").status_code == 404


def test_statements_of_the_public_list_do_not_grow(
    db, client, make_round, make_comune, make_referent, make_observation, moderator
):
    counts = []
    for n in (3, 40):
        round_ = make_round()
        referent = make_referent(make_comune())
        for i in range(n):
            observation = make_observation(round_, referent, title=f"N{i}", body_html=LETTER)
            if i % 2:
                _redact(db, observation, moderator)
        _close(db, round_)
        with count_statements(db.engine) as statements:
            response = client.get(f"/published/rounds/{round_.id}?page=1")
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("[omissis]") == (
            min(n, publication.PUBLIC_PAGE_SIZE) // 2
        )
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 15, counts


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_redacts_and_hides_through_the_pages(db, client, letter, make_user, role):
    login(client, make_user(role))
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    base = f"/moderation/observations/{letter.id}"
    page = client.get(f"{base}/publication")
    assert page.status_code == (200 if allowed else 403)
    token = csrf_token(client, "/track")
    lock = triage_of(letter).lock_version
    added = client.post(
        f"{base}/redactions",
        data={
            "csrf_token": token,
            "lock_version": lock,
            "quote": PERSONAL,
            "reason": "Dati personali",
        },
    )
    assert added.status_code == (303 if allowed else 403)
    rows = db.session.scalars(select(Redaction)).all()
    assert len(rows) == (1 if allowed else 0)
    hidden = client.post(
        f"{base}/hide",
        data={
            "csrf_token": token,
            "lock_version": triage_of(letter).lock_version,
            "reason": "Offensivo",
        },
    )
    assert hidden.status_code == (303 if allowed else 403)
    if allowed:
        shown = client.get(f"{base}/publication").get_data(as_text=True)
        assert "Lo segnala [omissis]." in shown and PERSONAL in shown  # staff see both
        [row] = rows
        lifted = client.post(
            f"/moderation/redactions/{row.id}/lift",
            data={
                "csrf_token": token,
                "lock_version": triage_of(letter).lock_version,
            },
        )
        assert lifted.status_code == 303
        db.session.expire_all()
        assert db.session.get(Redaction, row.id).lifted_at is not None
    else:
        assert (
            client.post("/moderation/redactions/1/lift", data={"csrf_token": token}).status_code
            == 403
        )
        assert (
            client.post("/moderation/hides/1/lift", data={"csrf_token": token}).status_code == 403
        )


def test_the_author_reads_the_original_and_is_told_of_the_redaction(db, app, letter, moderator):
    _redact(db, letter, moderator)
    _close(db, letter.round)
    author = app.test_client()
    login(author, letter.author)
    page = author.get(f"/observations/{letter.id}/").get_data(as_text=True)
    assert PERSONAL in page  # their own words, as sent
    assert "[omissis]" in page  # and what the public reads instead
