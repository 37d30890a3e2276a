"""Groups of campaigns and near-duplicates: detection on constructed campaigns, the moderators'
decisions, who may take them, and the interface other domains read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.moderation import grouping
from app.moderation.models import (
    Conflict,
    GroupMember,
    GroupState,
    ModerationError,
    SimilarityGroup,
)
from app.rounds.models import RoundState
from tests.fixtures.factories import csrf_token, login

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)

LETTER = (
    "Il comitato Navigli Puliti chiede che la nuova linea ciclabile lungo il Naviglio Grande sia "
    "completata entro il 2021 e che i parcheggi di interscambio di Abbiategrasso siano collegati "
    "al trasporto pubblico con corse ogni dieci minuti nelle ore di punta. Chiediamo inoltre una "
    "consultazione pubblica con i cittadini dei quartieri interessati prima dei lavori."
)
EDITED = (
    LETTER.replace("2021", "2022").replace("dieci", "quindici").replace("Chiediamo", "Vi chiediamo")
)
ADDED = (
    LETTER + " Il nostro comune propone anche di aprire il parco territoriale ai residenti nelle "
    "giornate festive, con un servizio di navetta gratuito dalla stazione ferroviaria."
)
UNRELATED = (
    "La biblioteca civica dovrebbe avere orari di apertura più lunghi la sera e un servizio di "
    "prestito digitale per gli studenti universitari della zona sud, con sale studio aperte."
)
OTHER_CAMPAIGN = (
    "Noi genitori della scuola primaria Manzoni chiediamo un servizio di scuolabus per le "
    "frazioni, la messa in sicurezza degli attraversamenti pedonali e più insegnanti di sostegno."
)


def _html(text: str) -> str:
    return f"<p>{text}</p>"


@pytest.fixture
def campaign(make_round, make_comune, make_referent, make_observation):
    """A round with two identical letters, one lightly edited, one with a paragraph added, two
    letters of another campaign and one unrelated observation."""
    round_ = make_round()
    texts = [LETTER, LETTER, EDITED, ADDED, UNRELATED, OTHER_CAMPAIGN, OTHER_CAMPAIGN]
    observations = [
        make_observation(round_, make_referent(make_comune()), body_html=_html(text))
        for text in texts
    ]
    return round_, observations


def _groups(db, round_):
    return db.session.scalars(
        select(SimilarityGroup)
        .where(SimilarityGroup.round_id == round_.id)
        .order_by(SimilarityGroup.id)
    ).all()


def _detect(db, round_, moderator):
    result = grouping.detect(db.session, round_, actor=moderator)
    db.session.commit()
    return result


def test_detection_on_constructed_campaigns(db, campaign, moderator):
    round_, (one, two, edited, added, unrelated, other_a, other_b) = campaign
    result = _detect(db, round_, moderator)
    assert (result.proposed, result.members) == (2, 6)
    first, second = _groups(db, round_)
    members = {m.observation.id: m.member for m in grouping.members_of(db.session, first)}
    assert set(members) == {one.id, two.id, edited.id, added.id}
    assert unrelated.id not in members
    assert first.template_id in (one.id, two.id)
    assert first.state is GroupState.PROPOSED
    assert members[two.id].score == 1.0 and not members[two.id].adds_something
    # lightly edited: similar, nothing of its own, the changed words named
    assert 0.5 < members[edited.id].score < 1.0
    assert not members[edited.id].adds_something
    assert {"2022", "quindici"} <= set(members[edited.id].differing_words.split())
    assert {"2021", "dieci"} <= set(members[edited.id].missing_words.split())
    # with a paragraph added: still in the group, flagged
    assert members[added.id].adds_something
    assert "navetta" in members[added.id].differing_words.split()
    assert first.score == min(m.score for m in members.values())
    assert {m.observation.id for m in grouping.members_of(db.session, second)} == {
        other_a.id,
        other_b.id,
    }
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "group.detected")
    ).one()
    assert entry.details["proposed"] == 2


def test_short_and_unrelated_texts_are_not_grouped(db, make_round, registered, moderator):
    round_ = make_round()
    registered(3, round_=round_, body_html="<p>Siamo contrari.</p>")
    registered(1, round_=round_, body_html=_html(UNRELATED))
    assert _detect(db, round_, moderator).proposed == 0


def test_confirm_edit_dismiss(db, campaign, moderator, make_referent, make_comune):
    round_, (one, _two, edited, _added, unrelated, *_rest) = campaign
    _detect(db, round_, moderator)
    group = _groups(db, round_)[0]
    with pytest.raises(Conflict):
        grouping.confirm(db.session, group, actor=moderator, seen_lock=group.lock_version - 1)
    db.session.rollback()
    grouping.confirm(db.session, group, actor=moderator, seen_lock=group.lock_version)
    db.session.commit()
    assert group.state is GroupState.CONFIRMED and group.decided_by_id == moderator.id
    assert grouping.confirmed_group_of(db.session, edited.id).id == group.id
    assert grouping.confirmed_group_of(db.session, unrelated.id) is None

    # edit: add the unrelated one by its protocol number (a moderator knows better), then out
    member = grouping.add_member(
        db.session, group, unrelated.protocol_code, actor=moderator, seen_lock=group.lock_version
    )
    db.session.commit()
    assert member.added_by_id == moderator.id and member.adds_something
    assert len(grouping.members_of(db.session, group)) == 5
    with pytest.raises(ModerationError):
        grouping.add_member(
            db.session,
            group,
            unrelated.protocol_code,
            actor=moderator,
            seen_lock=group.lock_version,
        )
    db.session.rollback()
    with pytest.raises(ModerationError):
        grouping.add_member(
            db.session, group, "NOPE-1", actor=moderator, seen_lock=group.lock_version
        )
    db.session.rollback()
    grouping.remove_member(
        db.session, group, unrelated.id, actor=moderator, seen_lock=group.lock_version
    )
    db.session.commit()
    assert unrelated.id not in {m.observation.id for m in grouping.members_of(db.session, group)}
    with pytest.raises(ModerationError):  # the template stays
        grouping.remove_member(
            db.session, group, group.template_id, actor=moderator, seen_lock=group.lock_version
        )
    db.session.rollback()

    # re-detection leaves the confirmed group alone and proposes nothing over it
    _detect(db, round_, moderator)
    groups = _groups(db, round_)
    assert groups[0].state is GroupState.CONFIRMED
    assert all(
        one.id not in {m.observation.id for m in grouping.members_of(db.session, g)}
        for g in groups[1:]
    )

    # dismiss: the members stay observations, the same set is not proposed again
    other = next(g for g in groups if g.state is GroupState.PROPOSED)
    grouping.dismiss(db.session, other, actor=moderator, seen_lock=other.lock_version)
    db.session.commit()
    assert _detect(db, round_, moderator).skipped_dismissed == 1
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"group.confirmed", "group.member_added", "group.member_removed", "group.dismissed"} <= (
        actions
    )


def test_an_observation_is_in_one_confirmed_group(db, campaign, moderator):
    round_, (one, _two, *_rest) = campaign
    _detect(db, round_, moderator)
    first, second = _groups(db, round_)
    grouping.confirm(db.session, first, actor=moderator, seen_lock=first.lock_version)
    grouping.confirm(db.session, second, actor=moderator, seen_lock=second.lock_version)
    db.session.commit()
    with pytest.raises(ModerationError):
        grouping.add_member(
            db.session, second, one.protocol_code, actor=moderator, seen_lock=second.lock_version
        )
    db.session.rollback()


def test_groups_of_a_concluded_round_cannot_change(db, campaign, moderator):
    round_, _observations = campaign
    _detect(db, round_, moderator)
    group = _groups(db, round_)[0]
    round_.state = RoundState.CONCLUDED
    db.session.commit()
    with pytest.raises(ModerationError):
        grouping.confirm(db.session, group, actor=moderator, seen_lock=group.lock_version)
    with pytest.raises(ModerationError):
        grouping.detect(db.session, round_, actor=moderator)
    db.session.rollback()


def test_clusters_of_ten_thousand_are_quick():
    """Not a benchmark (bench/grouping.py is): the detection's core at the size it must serve."""
    import random
    import time

    rng = random.Random(7)
    vocabulary = [f"parola{i}" for i in range(2000)]
    documents = [rng.choices(vocabulary, k=60) for _ in range(9_000)]
    documents += [grouping.words(LETTER)] * 600 + [grouping.words(ADDED)] * 400
    started = time.perf_counter()
    clusters = grouping.find_clusters(documents)
    assert [len(members) for members, _template in clusters] == [1_000]
    assert time.perf_counter() - started < 60


def test_every_variant_like_the_letter_is_grouped_with_it():
    """A campaign whose variants are each like the letter (three words changed in a place of
    their own, a closing passage of their own) but not like one another, the variants sent
    before the letter's copies: every variant is grouped around the letter, not only those
    that happened to meet it first in a MinHash bucket."""
    letter = [f"parola{i}" for i in range(60)]
    variants = []
    for number in range(20):
        variant = list(letter)
        place = (number * 3) % 55
        variant[place : place + 3] = [f"cambio{number}x{i}" for i in range(3)]
        variants.append(variant + [f"aggiunta{number}x{i}" for i in range(25)])
    for one in variants[:3]:  # like the letter, not like one another (the threshold between)
        assert grouping.compare(one, letter).score >= grouping.LINK_SIMILARITY
        assert grouping.compare(one, variants[5]).score < grouping.LINK_SIMILARITY
    unrelated = [[f"altro{n}x{i}" for i in range(40)] for n in range(30)]
    documents = variants + [letter] * 10 + unrelated
    [(members, template)] = grouping.find_clusters(documents)
    assert members == list(range(30))
    assert documents[template] == letter


# Pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_groups(db, client, campaign, moderator, make_user, role):
    round_, (one, *_rest) = campaign
    _detect(db, round_, moderator)
    group = _groups(db, round_)[0]
    login(client, make_user(role))
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    listing = client.get(f"/moderation/rounds/{round_.id}/groups")
    detail = client.get(f"/moderation/groups/{group.id}")
    assert listing.status_code == detail.status_code == (200 if allowed else 403)
    if allowed:
        page = detail.get_data(as_text=True)
        assert one.protocol_code in page and "aggiunge qualcosa" in page
        assert one.protocol_code in listing.get_data(as_text=True)
        item = client.get(f"/moderation/observations/{one.id}").get_data(as_text=True)
        assert f"/moderation/groups/{group.id}" in item


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_decides_on_groups(db, client, campaign, moderator, make_user, role):
    round_, (_one, _two, _edited, _added, unrelated, *_rest) = campaign
    login(client, make_user(role))
    token = csrf_token(client, "/track")
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    response = client.post(
        f"/moderation/rounds/{round_.id}/groups/detect", data={"csrf_token": token}
    )
    assert response.status_code == (303 if allowed else 403)
    if not allowed:
        _detect(db, round_, moderator)
    group = _groups(db, round_)[0]
    lock = group.lock_version
    steps = [
        (f"/moderation/groups/{group.id}/members", {"code": unrelated.protocol_code}),
        (f"/moderation/groups/{group.id}/members/{unrelated.id}/remove", {}),
        (f"/moderation/groups/{group.id}/confirm", {}),
        (f"/moderation/groups/{group.id}/dismiss", {}),
    ]
    for url, data in steps:
        response = client.post(url, data={"csrf_token": token, "lock_version": lock, **data})
        assert response.status_code == (303 if allowed else 403), url
        db.session.expire_all()
        lock = db.session.get(SimilarityGroup, group.id).lock_version
    state = db.session.get(SimilarityGroup, group.id).state
    assert state is (GroupState.DISMISSED if allowed else GroupState.PROPOSED)


def test_a_stale_group_form_changes_nothing(db, client, campaign, moderator):
    round_, _observations = campaign
    _detect(db, round_, moderator)
    group = _groups(db, round_)[0]
    login(client, moderator)
    response = client.post(
        f"/moderation/groups/{group.id}/confirm",
        data={"csrf_token": csrf_token(client, "/track"), "lock_version": group.lock_version + 5},
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(SimilarityGroup, group.id).state is GroupState.PROPOSED
    assert (
        db.session.scalar(
            select(GroupMember.observation_id).where(GroupMember.group_id == group.id).limit(1)
        )
        is not None
    )


def test_without_the_csrf_token_nothing_happens(db, client, campaign, moderator):
    round_, _observations = campaign
    login(client, moderator)
    response = client.post(f"/moderation/rounds/{round_.id}/groups/detect", data={})
    assert response.status_code == 400
    assert _groups(db, round_) == []


def test_the_queue_filters_on_groups(db, client, campaign, moderator):
    from app.moderation import queries
    from app.moderation.queries import QueueFilter

    round_, (one, _two, _edited, _added, unrelated, other_a, other_b) = campaign
    _detect(db, round_, moderator)
    grouped = queries.queue_page(db.session, round_, QueueFilter(in_group=True))
    alone = queries.queue_page(db.session, round_, QueueFilter(in_group=False))
    assert [r.observation.id for r in alone.rows] == [unrelated.id]
    assert len(grouped.rows) == 6
    second = _groups(db, round_)[1]
    grouping.dismiss(db.session, second, actor=moderator, seen_lock=second.lock_version)
    db.session.commit()
    alone = queries.queue_page(db.session, round_, QueueFilter(in_group=False))
    assert {r.observation.id for r in alone.rows} == {unrelated.id, other_a.id, other_b.id}
    login(client, moderator)
    page = client.get(f"/moderation/rounds/{round_.id}/queue?in_group=no").get_data(as_text=True)
    assert unrelated.protocol_code in page and one.protocol_code not in page
    assert client.get(f"/moderation/rounds/{round_.id}/queue?in_group=maybe").status_code == 200
