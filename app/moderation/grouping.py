"""Groups of campaigns and near-duplicates: finding them, and the moderators' decisions on them.

**Detection** (:func:`detect`) reads the text of every registered observation of a round, folded
like the search (lower case, no accents), cuts it into word *shingles* (three words in a row),
hashes them (scikit-learn's ``HashingVectorizer``, a SciPy sparse matrix), finds the pairs
likely to be alike with MinHash bands (NumPy; in each band's bucket every text is paired with
the bucket's first, so the work grows with the round, not its square) and measures each of
those exactly. Two texts are linked when they share at least :data:`LINK_SIMILARITY` of their
shingles (Jaccard: a form letter, lightly edited, or with a
paragraph added). Groups are stars, never chains (a chain of small overlaps would join unrelated
letters): the text linked to the most others is a group's *template* and takes the texts linked
to it; then the next. Every member gets its similarity to the template (Jaccard over
shingles), the words it has that the template lacks and the reverse, and the flag **adds
something** when it has a passage of its own (:data:`ADDS_RUN_WORDS` new words in a row, or
:data:`ADDS_TOTAL_WORDS` in all), so that it is not answered by the template alone.

A group is never a merge: every member stays an observation of its own. Moderators confirm,
edit (add or remove members) or dismiss a group; an observation is in at most one confirmed
group. Re-running the detection replaces the proposals only: confirmed groups and their members
are left alone, and a set of observations once dismissed is not proposed again.

Functions flush, never commit; refusals are ModerationErrors; every change is audited with ids.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation.models import (
    GroupMember,
    GroupState,
    ModerationError,
    SimilarityGroup,
)
from app.moderation.operations import check_lock, flush_guarded
from app.moderation.permissions import can_moderate
from app.observations.models import Observation, ObservationState
from app.rounds.models import Round

#: Words in a shingle.
SHINGLE = 3
#: Two texts are linked when they share at least this share of all their shingles (Jaccard):
#: a letter with a paragraph added as long as itself still is.
LINK_SIMILARITY = 0.45
#: MinHash banding for the candidate pairs (see :func:`_candidates`).
BANDS = 32
ROWS_PER_BAND = 3
#: Texts with fewer shingles than this are too short to say they are the same letter.
MIN_SHINGLES = 6
#: A member "adds something" with this many new words in a row, or this many in all.
ADDS_RUN_WORDS = 8
ADDS_TOTAL_WORDS = 20
#: At most this many differing words are kept per member (for the page).
WORDS_SHOWN = 24
#: Members read per statement when scores are computed.
_CHUNK = 500

_WORD = re.compile(r"[a-z0-9]+")

NOT_ALLOWED = _l("You may not do this in this round.")


def words(text: str) -> list[str]:
    """The folded words of a text, what the detection compares: lower case, accents dropped
    (``città`` → ``citta``; a character with no plain-letter form is left out)."""
    folded = unicodedata.normalize("NFKD", (text or "").lower()).encode("ascii", "ignore")
    return _WORD.findall(folded.decode("ascii"))


def text_of(observation: Observation) -> str:
    return "\n".join(part for part in (observation.body_text, observation.proposed_text) if part)


# Comparing one member with the template -----------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    score: float
    adds_something: bool
    differing: tuple[str, ...]
    missing: tuple[str, ...]


def _shingles(tokens: Sequence[str]) -> set[tuple[str, ...]]:
    if len(tokens) < SHINGLE:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def compare(member: Sequence[str], template: Sequence[str]) -> Comparison:
    """How like the template a member's words are, and what it has of its own."""
    a, b = _shingles(member), _shingles(template)
    union = len(a | b)
    score = len(a & b) / union if union else 1.0
    matcher = difflib.SequenceMatcher(None, template, member, autojunk=False)
    added: list[str] = []
    missing: list[str] = []
    longest_run = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "insert"):
            added.extend(member[j1:j2])
            longest_run = max(longest_run, j2 - j1)
        if op in ("replace", "delete"):
            missing.extend(template[i1:i2])
    adds = longest_run >= ADDS_RUN_WORDS or len(added) >= ADDS_TOTAL_WORDS
    return Comparison(
        score=round(score, 4),
        adds_something=adds,
        differing=tuple(dict.fromkeys(added))[:WORDS_SHOWN],
        missing=tuple(dict.fromkeys(missing))[:WORDS_SHOWN],
    )


# Detection ----------------------------------------------------------------------------------


def _registered(session: Session, round_: Round, exclude: set[int]) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Observation.id, Observation.body_text, Observation.proposed_text)
        .where(
            Observation.round_id == round_.id,
            Observation.protocol_number.is_not(None),
            Observation.state == ObservationState.SUBMITTED,
        )
        .order_by(Observation.protocol_number)
    )
    return [
        (id_, "\n".join(part for part in (body, proposed) if part))
        for id_, body, proposed in rows
        if id_ not in exclude
    ]


def _shingle_strings(tokens: Sequence[str]) -> list[str]:
    return [" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]


def _signature(matrix):
    """Each row's MinHash signature (:data:`BANDS` times :data:`ROWS_PER_BAND` hashes of its
    shingles), from fixed seeds: the same round gives the same groups."""
    import numpy as np

    rng = np.random.default_rng(12_345)
    prime = (1 << 31) - 1
    hashes = BANDS * ROWS_PER_BAND
    a = rng.integers(1, prime, size=hashes, dtype=np.int64)
    b = rng.integers(0, prime, size=hashes, dtype=np.int64)
    shingles = matrix.indices.astype(np.int64)
    starts = matrix.indptr[:-1]
    signature = np.empty((matrix.shape[0], hashes), dtype=np.int64)
    for k in range(hashes):
        signature[:, k] = np.minimum.reduceat((a[k] * shingles + b[k]) % prime, starts)
    return signature


def _pairs(signature, priority):
    """Candidate pairs (lower row, higher row), each once: in every band, the rows with the
    same band of the signature (a bucket) are each paired with the bucket's *hub*, its row of
    highest ``priority`` (on a tie the lowest row), not with every other: comparing every pair
    would cost the square of the round. A pair at :data:`LINK_SIMILARITY` shares a band with
    a probability above 0.95."""
    import numpy as np

    n = signature.shape[0]
    rows = np.arange(n, dtype=np.int64)
    found = []
    for band in range(BANDS):
        block = signature[:, band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        # Sorted by the band's hashes, then the hub first within each bucket.
        order = np.lexsort((rows, -priority, *block.T[::-1]))
        ordered = block[order]
        new_bucket = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
        hub = order[np.flatnonzero(new_bucket)[np.cumsum(new_bucket) - 1]]
        others = ~new_bucket
        one, two = hub[others], order[others]
        found.append(np.minimum(one, two) * n + np.maximum(one, two))
    if not found:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    unique = np.unique(np.concatenate(found))
    return unique // n, unique % n


def _linked(matrix, sizes, rows, cols):
    """Of the candidate pairs, those that share at least :data:`LINK_SIMILARITY` of their
    shingles (measured exactly)."""
    import numpy as np

    if not len(rows):
        return rows, cols
    shared = np.asarray(matrix[rows].multiply(matrix[cols]).sum(axis=1)).ravel()
    keep = shared >= LINK_SIMILARITY * (sizes[rows] + sizes[cols] - shared)
    return rows[keep], cols[keep]


def find_clusters(documents: Sequence[Sequence[str]]) -> list[tuple[list[int], int]]:
    """The groups among ``documents`` (each a list of folded words): (positions of the members,
    position of the template), star groups around the best-linked texts (their templates),
    every member sharing at least :data:`LINK_SIMILARITY` of its shingles with the template.
    Identical documents are compared once.

    Candidates come in two rounds of MinHash buckets: each text with its bucket's first text,
    which measures roughly how many others each text is like (its *reach*); then each with its
    bucket's text of widest reach, the likely template, so that every variant of a campaign is
    measured against the letter it will be grouped around, not only against whichever variant
    came first (with the first alone, a variant like the template but unlike that first one
    was left out)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from sklearn.feature_extraction.text import HashingVectorizer

    unique: dict[tuple[str, ...], int] = {}
    copies: list[list[int]] = []
    for position, tokens in enumerate(documents):
        key = tuple(tokens)
        if len(key) < SHINGLE + MIN_SHINGLES - 1:
            continue  # too short to call it the same letter
        if key not in unique:
            unique[key] = len(copies)
            copies.append([])
        copies[unique[key]].append(position)
    if not copies:
        return []
    # Hashed shingles (2**24 buckets): no vocabulary to build or sort, collisions negligible.
    vectorizer = HashingVectorizer(
        analyzer=_shingle_strings,
        n_features=2**24,
        binary=True,
        norm=None,
        alternate_sign=False,
        dtype=np.float32,
    )
    matrix = vectorizer.transform(list(unique)).tocsr()
    n = matrix.shape[0]
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    weight = np.array([len(c) for c in copies], dtype=np.float32)

    def links_of(rows, cols):
        return coo_matrix(
            (np.ones(2 * len(rows), dtype=np.float32), (np.r_[rows, cols], np.r_[cols, rows])),
            shape=(n, n),
        ).tocsr()

    signature = _signature(matrix)
    first_rows, first_cols = _linked(matrix, sizes, *_pairs(signature, -np.arange(n)))
    reach = links_of(first_rows, first_cols) @ weight + weight - 1
    rows, cols = _pairs(signature, reach)
    measured = set((first_rows * n + first_cols).tolist())
    fresh = np.array([r * n + c not in measured for r, c in zip(rows, cols, strict=True)], bool)
    more_rows, more_cols = _linked(matrix, sizes, rows[fresh], cols[fresh])
    links = links_of(np.r_[first_rows, more_rows], np.r_[first_cols, more_cols])
    links.data[:] = 1  # a pair found in both rounds is one link
    # Star groups, never chains: the text linked to the most others (its copies count) leads,
    # and takes every text linked to it that no earlier leader took; then the next.
    reach = links @ weight + weight - 1
    taken = np.zeros(n, dtype=bool)
    clusters = []
    for leader in np.lexsort((np.arange(n), -reach)):
        if taken[leader]:
            continue
        start, end = links.indptr[leader], links.indptr[leader + 1]
        nodes = [int(leader), *(int(m) for m in links.indices[start:end] if not taken[m])]
        taken[nodes] = True
        positions = sorted(p for node in nodes for p in copies[node])
        if len(positions) >= 2:
            clusters.append((positions, copies[leader][0]))
    clusters.sort(key=lambda item: item[0][0])
    return clusters


@dataclass
class Detection:
    proposed: int = 0
    members: int = 0
    replaced: int = 0
    skipped_dismissed: int = 0


def _in_confirmed(session: Session, round_id: int) -> set[int]:
    return set(
        session.scalars(
            select(GroupMember.observation_id)
            .join(SimilarityGroup, SimilarityGroup.id == GroupMember.group_id)
            .where(
                SimilarityGroup.round_id == round_id,
                SimilarityGroup.state == GroupState.CONFIRMED,
            )
        )
    )


def _dismissed_sets(session: Session, round_id: int) -> list[frozenset[int]]:
    sets: dict[int, set[int]] = {}
    for group_id, observation_id in session.execute(
        select(GroupMember.group_id, GroupMember.observation_id)
        .join(SimilarityGroup, SimilarityGroup.id == GroupMember.group_id)
        .where(SimilarityGroup.round_id == round_id, SimilarityGroup.state == GroupState.DISMISSED)
    ):
        sets.setdefault(group_id, set()).add(observation_id)
    return [frozenset(s) for s in sets.values()]


def detect(
    session: Session, round_: Round, *, actor: User | None, now: datetime | None = None
) -> Detection:
    """Propose the round's groups afresh (the earlier proposals are replaced; confirmed and
    dismissed groups stay as they are)."""
    if actor is not None and not can_moderate(actor, round_):
        raise ModerationError(NOT_ALLOWED)
    now = now or utcnow()
    result = Detection()
    old = list(
        session.scalars(
            select(SimilarityGroup.id).where(
                SimilarityGroup.round_id == round_.id,
                SimilarityGroup.state == GroupState.PROPOSED,
            )
        )
    )
    for start in range(0, len(old), _CHUNK):
        chunk = old[start : start + _CHUNK]
        session.execute(delete(GroupMember).where(GroupMember.group_id.in_(chunk)))
        session.execute(delete(SimilarityGroup).where(SimilarityGroup.id.in_(chunk)))
    result.replaced = len(old)
    rows = _registered(session, round_, _in_confirmed(session, round_.id))
    ids = [id_ for id_, _text in rows]
    tokens = [words(text) for _id, text in rows]
    dismissed = _dismissed_sets(session, round_.id)
    compared: dict[tuple[tuple[str, ...], tuple[str, ...]], Comparison] = {}
    proposals: list[tuple[SimilarityGroup, list[tuple[int, Comparison]]]] = []
    for positions, template in find_clusters(tokens):
        member_ids = frozenset(ids[p] for p in positions)
        if any(member_ids <= gone for gone in dismissed):
            result.skipped_dismissed += 1
            continue
        comparisons = []
        for position in positions:
            pair = (tuple(tokens[position]), tuple(tokens[template]))
            if pair not in compared:
                compared[pair] = compare(*pair)
            comparisons.append((ids[position], compared[pair]))
        group = SimilarityGroup(
            round_id=round_.id,
            template_id=ids[template],
            created_at=now,
            score=min(c.score for _id, c in comparisons),
        )
        proposals.append((group, comparisons))
        result.proposed += 1
        result.members += len(positions)
    session.add_all(group for group, _comparisons in proposals)
    session.flush()  # the groups' ids, in one batch; then their members in another
    session.add_all(
        _member(group, observation_id, comparison, added_by=None)
        for group, comparisons in proposals
        for observation_id, comparison in comparisons
    )
    session.flush()
    record(
        session,
        "group.detected",
        actor=actor,
        object_type="round",
        object_id=round_.id,
        proposed=result.proposed,
        members=result.members,
        replaced=result.replaced,
        skipped_dismissed=result.skipped_dismissed,
    )
    return result


def _member(
    group: SimilarityGroup, observation_id: int, comparison: Comparison, *, added_by: User | None
) -> GroupMember:
    is_template = observation_id == group.template_id
    return GroupMember(
        group_id=group.id,
        observation_id=observation_id,
        score=1.0 if is_template else comparison.score,
        adds_something=False if is_template else comparison.adds_something,
        differing_words=" ".join(comparison.differing),
        missing_words=" ".join(comparison.missing),
        added_by_id=getattr(added_by, "id", None),
    )


# Decisions ----------------------------------------------------------------------------------


def _check(group: SimilarityGroup, actor: User, seen_lock: int | None, *states) -> Round:
    round_ = session_round(group)
    if not can_moderate(actor, round_):
        raise ModerationError(NOT_ALLOWED)
    check_lock(group, seen_lock)
    if group.state not in states:
        raise ModerationError(_l("This group was already decided: reload the page."))
    return round_


def session_round(group: SimilarityGroup) -> Round:
    from sqlalchemy.orm import object_session

    return object_session(group).get(Round, group.round_id)


def _member_ids(session: Session, group: SimilarityGroup) -> list[int]:
    return list(
        session.scalars(select(GroupMember.observation_id).where(GroupMember.group_id == group.id))
    )


def _refuse_if_confirmed_elsewhere(
    session: Session, group: SimilarityGroup, observation_ids: Iterable[int]
) -> None:
    ids = list(observation_ids)
    clash = session.scalar(
        select(Observation.protocol_code)
        .join(GroupMember, GroupMember.observation_id == Observation.id)
        .join(SimilarityGroup, SimilarityGroup.id == GroupMember.group_id)
        .where(
            GroupMember.observation_id.in_(ids),
            SimilarityGroup.state == GroupState.CONFIRMED,
            SimilarityGroup.id != group.id,
        )
        .limit(1)
    )
    if clash is not None:
        raise ModerationError(
            _l("%(code)s is already in another confirmed group.", code=clash), "code"
        )


def confirm(
    session: Session,
    group: SimilarityGroup,
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> None:
    _check(group, actor, seen_lock, GroupState.PROPOSED)
    _refuse_if_confirmed_elsewhere(session, group, _member_ids(session, group))
    group.state = GroupState.CONFIRMED
    group.decided_at, group.decided_by_id = now or utcnow(), actor.id
    flush_guarded(session)
    record(session, "group.confirmed", actor=actor, obj=group, members=_count(session, group))


def dismiss(
    session: Session,
    group: SimilarityGroup,
    *,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> None:
    """Not a group after all (a confirmed group may be dismissed too): its members stay as
    they are, and the detection will not propose the same set again."""
    before = group.state
    _check(group, actor, seen_lock, GroupState.PROPOSED, GroupState.CONFIRMED)
    group.state = GroupState.DISMISSED
    group.decided_at, group.decided_by_id = now or utcnow(), actor.id
    flush_guarded(session)
    record(session, "group.dismissed", actor=actor, obj=group, was=before.value)


def _count(session: Session, group: SimilarityGroup) -> int:
    return session.scalar(
        select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group.id)
    )


def _tokens_of(session: Session, observation_id: int) -> list[str]:
    observation = session.get(Observation, observation_id)
    return words(text_of(observation))


def add_member(
    session: Session,
    group: SimilarityGroup,
    protocol_code: str,
    *,
    actor: User,
    seen_lock: int | None,
) -> GroupMember:
    """Add an observation of the round (by its protocol code) that the detection missed."""
    _check(group, actor, seen_lock, GroupState.PROPOSED, GroupState.CONFIRMED)
    code = (protocol_code or "").strip()[:40]
    observation = session.scalar(
        select(Observation).where(
            Observation.protocol_code == code, Observation.round_id == group.round_id
        )
    )
    if observation is None or observation.state is not ObservationState.SUBMITTED:
        raise ModerationError(_l("No observation of this round has this protocol number."), "code")
    if session.get(GroupMember, (group.id, observation.id)) is not None:
        raise ModerationError(_l("%(code)s is already in this group.", code=code), "code")
    if group.state is GroupState.CONFIRMED:
        _refuse_if_confirmed_elsewhere(session, group, [observation.id])
    comparison = compare(words(text_of(observation)), _tokens_of(session, group.template_id))
    member = _member(group, observation.id, comparison, added_by=actor)
    session.add(member)
    group.score = min(group.score, member.score)
    flush_guarded(session)
    record(session, "group.member_added", actor=actor, obj=group, observation_id=observation.id)
    return member


def remove_member(
    session: Session,
    group: SimilarityGroup,
    observation_id: int,
    *,
    actor: User,
    seen_lock: int | None,
) -> None:
    """Take a member out (it stays an observation like any other). The template stays, and a
    group keeps at least two members: dismiss it instead."""
    _check(group, actor, seen_lock, GroupState.PROPOSED, GroupState.CONFIRMED)
    member = session.get(GroupMember, (group.id, observation_id))
    if member is None:
        raise ModerationError(_l("This observation is not in the group."))
    if observation_id == group.template_id:
        raise ModerationError(_l("The template stays in its group: dismiss the group instead."))
    if _count(session, group) <= 2:
        raise ModerationError(_l("A group has at least two members: dismiss it instead."))
    session.delete(member)
    session.flush()
    group.score = session.scalar(
        select(func.min(GroupMember.score)).where(
            GroupMember.group_id == group.id, GroupMember.observation_id != group.template_id
        )
    )
    flush_guarded(session)
    record(session, "group.member_removed", actor=actor, obj=group, observation_id=observation_id)


# The read side, for this package and for the decisions domain --------------------------------


@dataclass(frozen=True)
class Listed:
    """A member as pages and other domains read it."""

    observation: Observation
    member: GroupMember

    @property
    def is_template(self) -> bool:
        return self.observation.id == self.member_group_template

    member_group_template: int = 0


def members_of(session: Session, group: SimilarityGroup) -> list[Listed]:
    """Every member of the group, the template first, then by protocol number (one statement)."""
    rows = session.execute(
        select(Observation, GroupMember)
        .join(GroupMember, GroupMember.observation_id == Observation.id)
        .where(GroupMember.group_id == group.id)
        .order_by(Observation.protocol_number)
    ).all()
    listed = [Listed(o, m, member_group_template=group.template_id) for o, m in rows]
    return sorted(listed, key=lambda item: not item.is_template)


def confirmed_group_of(session: Session, observation_id: int) -> SimilarityGroup | None:
    """The confirmed group the observation is in, if any (at most one)."""
    return session.scalar(
        select(SimilarityGroup)
        .join(GroupMember, GroupMember.group_id == SimilarityGroup.id)
        .where(
            GroupMember.observation_id == observation_id,
            SimilarityGroup.state == GroupState.CONFIRMED,
        )
    )


def groups_of(session: Session, observation_ids: Iterable[int]) -> dict[int, SimilarityGroup]:
    """For each observation in a proposed or confirmed group: that group (the confirmed one
    first). One statement, for a page of the queue or an item page."""
    ids = list(observation_ids)
    result: dict[int, SimilarityGroup] = {}
    if not ids:
        return result
    rows = session.execute(
        select(GroupMember.observation_id, SimilarityGroup)
        .join(SimilarityGroup, SimilarityGroup.id == GroupMember.group_id)
        .where(
            GroupMember.observation_id.in_(ids),
            SimilarityGroup.state.in_((GroupState.PROPOSED, GroupState.CONFIRMED)),
        )
        .order_by(SimilarityGroup.state, SimilarityGroup.id)
    ).all()
    for observation_id, group in rows:
        current = result.get(observation_id)
        if current is None or (
            group.state is GroupState.CONFIRMED and current.state is not GroupState.CONFIRMED
        ):
            result[observation_id] = group
    return result


def round_groups(
    session: Session, round_: Round, state: GroupState | None, *, page: int, per_page: int = 25
) -> tuple[list[tuple[SimilarityGroup, int, int]], int]:
    """A page of the round's groups (largest first): (group, members, adding something), and
    how many groups there are."""
    conditions = [SimilarityGroup.round_id == round_.id]
    if state is not None:
        conditions.append(SimilarityGroup.state == state)
    total = session.scalar(select(func.count()).select_from(SimilarityGroup).where(*conditions))
    members = func.count(GroupMember.observation_id)
    rows = session.execute(
        select(SimilarityGroup, members, func.count().filter(GroupMember.adds_something))
        .join(GroupMember, GroupMember.group_id == SimilarityGroup.id)
        .where(*conditions)
        .group_by(SimilarityGroup.id)
        .order_by(members.desc(), SimilarityGroup.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [(g, n, adds) for g, n, adds in rows], total
