"""Suggestions, kept apart from decisions: which policy area and which section of the consulted
version a point most likely concerns.

A :class:`Suggester` is built once per plan version: a TF-IDF model (scikit-learn, fitted on the
version's own text; no network, no hosted model) over word and character n-grams of the folded
text, so that ``ciclabili`` is near ``ciclabile``. Each section is a document (its title, its
paragraphs and those of its subsections); each policy area is a document too (its name, its
description, :data:`AREA_DESCRIPTIONS`, and the text of the sections that carry it). A point's
text is compared with each by cosine similarity; the best :data:`KEEP` of each kind are stored
as :class:`Suggestion` rows, with their score.

A suggestion changes nothing. It becomes a tag on the point (the policy area's tag) or the
point's anchor (the section) only when a moderator **accepts** it; the tag's row then says
``source = suggestion`` and the audit entry is ``suggestion.accepted``, where a person's own
tagging is ``point.tags_changed`` with ``source = person`` rows. A point's anchor came from a
suggestion when its accepted section suggestion names the section it is anchored to now
(:func:`anchor_source`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.audit import record
from app.core.db import copy_rows, utcnow
from app.core.i18n import lazy_gettext as _l
from app.moderation import operations
from app.moderation.grouping import words
from app.moderation.models import (
    ModerationError,
    PointTag,
    Source,
    Suggestion,
    SuggestionKind,
    SuggestionState,
    Tag,
    Triage,
)
from app.moderation.permissions import can_moderate
from app.observations.models import Observation, Point, PointState
from app.plans.anchors import Target
from app.plans.models import PlanVersion, PolicyArea, Section
from app.plans.tree import load_tree

if TYPE_CHECKING:
    import numpy as np

#: What each ambito di policy is about, in the plan's own words (the brief and the PSM).
AREA_DESCRIPTIONS = {
    PolicyArea.AGILE: (
        "Agile e performante. Semplificare procedure e accesso ai servizi: pubblica "
        "amministrazione digitale, burocrazia, sportelli, pratiche, tempi, trasparenza."
    ),
    PolicyArea.CREATIVA: (
        "Creativa e innovativa. Collegare il sapere al saper fare: università, ricerca, "
        "imprese, lavoro, formazione, start up, innovazione, competenze."
    ),
    PolicyArea.ATTRATTIVA: (
        "Attrattiva e aperta al mondo. Valorizzare le differenze e scambiare con i territori: "
        "turismo, cultura, eventi, investimenti, Europa, accoglienza, internazionale."
    ),
    PolicyArea.INTELLIGENTE: (
        "Intelligente e sostenibile. Rigenerare territorio e ambiente: parchi, verde, suolo, "
        "energia, emissioni, clima, rigenerazione urbana, acqua, rifiuti."
    ),
    PolicyArea.VELOCE: (
        "Veloce e integrata. Connettere persone, imprese, territori: trasporto pubblico, "
        "mobilità, treni, metropolitana, autobus, piste ciclabili, strade, banda larga."
    ),
    PolicyArea.COESA: (
        "Coesa e cooperante. Gestire in forma associata servizi e progetti: comuni, zone "
        "omogenee, servizi sociali, welfare, casa, scuole, cooperazione intercomunale."
    ),
}

#: Suggestions kept per point and kind.
KEEP = 3
#: Below this cosine a section or area is not suggested at all.
SCORE_MIN = 0.02
#: Point ids per statement when given points' old suggestions are deleted.
_CHUNK = 500
#: Suggestion rows written at a time, and text rows made dense at a time.
_INSERT_ROWS = 5_000
_COLUMNS = [
    "point_id", "kind", "policy_area", "section_id", "score", "rank", "state", "computed_at"
]  # fmt: skip
_DENSE_ROWS = 2_000

_STOPWORDS = frozenset(
    [
        "a",
        "ad",
        "al",
        "alla",
        "alle",
        "ai",
        "agli",
        "all",
        "anche",
        "che",
        "chi",
        "ci",
        "col",
        "come",
        "con",
        "da",
        "dal",
        "dalla",
        "dalle",
        "dai",
        "dei",
        "del",
        "della",
        "delle",
        "dello",
        "degli",
        "di",
        "e",
        "ed",
        "gli",
        "ha",
        "hanno",
        "i",
        "il",
        "in",
        "la",
        "le",
        "lo",
        "l",
        "ma",
        "ne",
        "nei",
        "nel",
        "nella",
        "nelle",
        "non",
        "o",
        "per",
        "piu",
        "poi",
        "quale",
        "quali",
        "questo",
        "questa",
        "queste",
        "questi",
        "se",
        "si",
        "sia",
        "sono",
        "su",
        "sul",
        "sulla",
        "sulle",
        "tra",
        "fra",
        "un",
        "una",
        "uno",
        "essere",
        "noi",
        "voi",
        "loro",
        "nostro",
        "nostra",
        "nostri",
        "vostro",
        "chiediamo",
        "chiede",
        "proponiamo",
        "propone",
        "inoltre",
    ]
)


#: Words are cut to this many letters, a crude Italian stemmer: ``ciclabili`` and ``ciclabile``
#: are one term, ``mobilità`` and ``mobilita`` too (the text is folded first).
STEM = 6


def _analyse(text: str) -> str:
    return " ".join(w[:STEM] for w in words(text) if w not in _STOPWORDS)


@dataclass(frozen=True)
class Scored:
    kind: SuggestionKind
    score: float
    policy_area: PolicyArea | None = None
    section: Section | None = None


@dataclass(frozen=True)
class Best:
    """The best :data:`KEEP` of one kind for each of n texts, best first: ``index`` (n rows of KEEP)
    into the suggester's sections or areas, -1 where nothing scores :data:`SCORE_MIN`, and
    ``score`` beside it."""

    index: np.ndarray
    score: np.ndarray


def _best(similarity) -> Best:
    """Per row of a sparse similarity matrix: its :data:`KEEP` best columns (``argpartition``,
    then those few sorted, the higher score first, on a tie the lower column)."""
    import numpy as np

    rows, columns = similarity.shape
    keep = min(KEEP, columns)
    index = np.full((rows, KEEP), -1, dtype=np.int64)
    score = np.zeros((rows, KEEP), dtype=np.float64)
    for first in range(0, rows, _DENSE_ROWS):  # a block of rows dense at a time
        dense = similarity[first : first + _DENSE_ROWS].toarray()
        if keep < columns:
            top = np.argpartition(-dense, keep - 1, axis=1)[:, :keep]
        else:
            top = np.broadcast_to(np.arange(columns), dense.shape).copy()
        values = np.take_along_axis(dense, top, axis=1)
        order = np.lexsort((top, -values), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        values = np.take_along_axis(values, order, axis=1)
        below = values < SCORE_MIN
        top[below], values[below] = -1, 0.0
        index[first : first + len(dense), :keep] = top
        score[first : first + len(dense), :keep] = values
    return Best(index, score)


class Suggester:
    """The TF-IDF model of one plan version's sections and policy areas."""

    def __init__(self, session: Session, version: PlanVersion):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        tree = load_tree(session, version)
        self.sections: list[Section] = []
        documents: list[str] = []
        area_text: dict[PolicyArea, list[str]] = {a: [AREA_DESCRIPTIONS[a]] for a in PolicyArea}
        for node in tree.walk():
            text = " ".join(
                [node.section.title] + [p.text for below in node.walk() for p in below.paragraphs]
            )
            self.sections.append(node.section)
            documents.append(text)
            if node.section.policy_area is not None:
                area_text[node.section.policy_area].append(text)
        self.areas = list(PolicyArea)
        corpus = [_analyse(t) for t in documents + [" ".join(area_text[a]) for a in self.areas]]
        self._vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
        self._normalize = normalize
        matrix = normalize(self._vectorizer.fit_transform(corpus).tocsr())
        self._sections_t = matrix[: len(self.sections)].T.tocsc()
        self._areas_t = matrix[len(self.sections) :].T.tocsc()

    def best(self, texts: Sequence[str]) -> tuple[Best, Best]:
        """The best areas and the best sections of each text: every text in one sparse matrix,
        one product with the areas and one with the sections. A text met twice (the copies of
        a form letter) is analysed once."""
        unique: dict[str, int] = {}
        inverse = [unique.setdefault(t, len(unique)) for t in texts]
        vectors = self._normalize(self._vectorizer.transform([_analyse(t) for t in unique]))
        areas, sections = _best(vectors @ self._areas_t), _best(vectors @ self._sections_t)
        return (
            Best(areas.index[inverse], areas.score[inverse]),
            Best(sections.index[inverse], sections.score[inverse]),
        )

    def score(self, texts: Sequence[str]) -> list[list[Scored]]:
        """For each text: the best areas, then the best sections, each kind best first."""
        if not texts:
            return []
        areas, sections = self.best(texts)
        result = []
        for row in range(len(texts)):
            scored = [
                Scored(SuggestionKind.POLICY_AREA, round(float(v), 4), policy_area=self.areas[i])
                for i, v in zip(areas.index[row], areas.score[row], strict=True)
                if i >= 0
            ]
            scored += [
                Scored(SuggestionKind.SECTION, round(float(v), 4), section=self.sections[i])
                for i, v in zip(sections.index[row], sections.score[row], strict=True)
                if i >= 0
            ]
            result.append(scored)
        return result


def point_text(summary: str | None, body: str, start: int | None, end: int | None) -> str:
    """What a point says: its summary and its excerpt (the whole observation without either)."""
    excerpt = body[start:end] if start is not None else None
    return " ".join(part for part in (summary, excerpt) if part) or body


def _store(
    session: Session, ids: Sequence[int], texts: Sequence[str], suggester: Suggester, now: datetime
) -> int:
    """Insert the open suggestions of the points (their old open ones already deleted), as
    plain rows: ``COPY`` on PostgreSQL, one executemany per :data:`_INSERT_ROWS` on SQLite."""
    if not ids:
        return 0
    areas, sections = suggester.best(texts)
    table = Suggestion.__table__
    connection = session.connection()
    computed_at = table.c.computed_at.type.bind_processor(connection.dialect)(now)
    kinds = (
        (SuggestionKind.POLICY_AREA.value, areas, [(a.value, None) for a in suggester.areas]),
        (SuggestionKind.SECTION.value, sections, [(None, s.id) for s in suggester.sections]),
    )
    open_ = SuggestionState.OPEN.value
    rows: list[tuple] = []
    stored = 0
    for row, point_id in enumerate(ids):
        for kind, best, targets in kinds:
            for rank, (index, score) in enumerate(
                zip(best.index[row].tolist(), best.score[row].tolist(), strict=True), start=1
            ):
                if index < 0:
                    break
                area, section_id = targets[index]
                rows.append(
                    (point_id, kind, area, section_id, round(score, 4), rank, open_, computed_at)
                )
        if len(rows) >= _INSERT_ROWS or row == len(ids) - 1:
            copy_rows(connection, table, _COLUMNS, rows)
            stored += len(rows)
            rows = []
    return stored


def suggest(
    session: Session,
    texts: dict[int, str],
    suggester: Suggester,
    *,
    now: datetime | None = None,
) -> int:
    """Compute afresh the suggestions of the points (point id → text); accepted and dismissed
    ones stay, as the record of what a moderator did. Returns how many were stored."""
    ids = list(texts)
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            delete(Suggestion).where(
                Suggestion.point_id.in_(ids[start : start + _CHUNK]),
                Suggestion.state == SuggestionState.OPEN,
            )
        )
    return _store(session, ids, list(texts.values()), suggester, now or utcnow())


def _round_points(round_) -> list:
    """Which points a round's pass covers: the active points of its registered observations."""
    return [
        Observation.round_id == round_.id,
        Observation.protocol_number.is_not(None),
        Point.state == PointState.ACTIVE,
    ]


def suggest_round(session: Session, round_, *, actor: User | None) -> int:
    """Suggestions for every active point of the round's registered observations: their open
    suggestions deleted in one statement, every text scored at once, the rows inserted in
    batches. ``flask moderation suggest ROUND_ID`` runs it outside a request."""
    if actor is not None and not can_moderate(actor, round_):
        raise ModerationError(_l("You may not do this in this round."))
    suggester = Suggester(session, round_.version)
    rows = session.execute(
        select(
            Point.id, Point.summary, Point.excerpt_start, Point.excerpt_end, Observation.body_text
        )
        .join(Observation, Observation.id == Point.observation_id)
        .where(*_round_points(round_))
        .order_by(Point.id)
    ).all()
    session.execute(
        delete(Suggestion).where(
            Suggestion.state == SuggestionState.OPEN,
            Suggestion.point_id.in_(
                select(Point.id)
                .join(Observation, Observation.id == Point.observation_id)
                .where(*_round_points(round_))
            ),
        )
    )
    stored = _store(
        session,
        [r.id for r in rows],
        [point_text(r.summary, r.body_text or "", r.excerpt_start, r.excerpt_end) for r in rows],
        suggester,
        utcnow(),
    )
    session.flush()
    record(
        session,
        "suggestion.computed",
        actor=actor,
        object_type="round",
        object_id=round_.id,
        points=len(rows),
        suggestions=stored,
    )
    return stored


def open_suggestions(session: Session, point_ids: Iterable[int]) -> dict[int, list[Suggestion]]:
    """The open suggestions of each point, best first within each kind (one statement)."""
    ids = list(point_ids)
    result: dict[int, list[Suggestion]] = {i: [] for i in ids}
    if ids:
        for suggestion in session.scalars(
            select(Suggestion)
            .where(Suggestion.point_id.in_(ids), Suggestion.state == SuggestionState.OPEN)
            .order_by(Suggestion.point_id, Suggestion.kind, Suggestion.rank)
        ):
            result[suggestion.point_id].append(suggestion)
    return result


def _area_tag(session: Session, area: PolicyArea) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.policy_area == area, Tag.merged_into_id.is_(None)))
    if tag is None:
        raise ModerationError(_l("The policy areas have no tags yet: seed them on the tags page."))
    return tag


def decide(
    session: Session,
    triage: Triage,
    suggestion: Suggestion,
    *,
    accept: bool,
    actor: User,
    seen_lock: int | None,
    now: datetime | None = None,
) -> None:
    """Accept (the tag is put on the point, or the point is anchored to the section) or
    dismiss a suggestion. Either way the observation's lock moves on."""
    point = session.get(Point, suggestion.point_id)
    if point is None or point.observation_id != triage.observation_id:
        raise ModerationError(_l("This point is not one of this observation's."))
    if point.state is not PointState.ACTIVE:
        raise ModerationError(_l("This point is not one of this observation's."))
    if not can_moderate(actor, triage.observation.round):
        raise ModerationError(_l("You may not do this in this round."))
    operations.check_lock(triage, seen_lock)
    if suggestion.state is not SuggestionState.OPEN:
        raise ModerationError(_l("This suggestion was already dealt with: reload the page."))
    now = now or utcnow()
    suggestion.state = SuggestionState.ACCEPTED if accept else SuggestionState.DISMISSED
    suggestion.decided_at, suggestion.decided_by_id = now, actor.id
    details: dict = {"kind": suggestion.kind.value, "point_id": point.id}
    if accept and suggestion.kind is SuggestionKind.POLICY_AREA:
        tag = _area_tag(session, suggestion.policy_area)
        existing = session.get(PointTag, (point.id, tag.id))
        if existing is None:
            session.add(
                PointTag(
                    point_id=point.id,
                    tag_id=tag.id,
                    tagged_by_id=actor.id,
                    tagged_at=now,
                    source=Source.SUGGESTION,
                )
            )
        details["tag_id"] = tag.id
        details["already"] = existing is not None
    elif accept:
        section = session.get(Section, suggestion.section_id)
        if section is None or section.version_id != triage.observation.round.plan_version_id:
            raise ModerationError(_l("This section is not in the consulted version."))
        point.target, point.section_id, point.paragraph_id = Target.SECTION, section.id, None
        point.quote_text = point.quote_start = point.quote_end = None
        details["section_id"] = section.id
    triage.changed_at = now
    operations.flush_guarded(session)
    record(
        session,
        "suggestion.accepted" if accept else "suggestion.dismissed",
        actor=actor,
        obj=suggestion,
        source=Source.SUGGESTION.value,
        score=str(suggestion.score),
        **details,
    )


def anchor_source(session: Session, point: Point) -> Source:
    """Whether the point's anchor is one a moderator took from a suggestion, or a person's."""
    if point.section_id is None:
        return Source.PERSON
    accepted = session.scalar(
        select(Suggestion.section_id)
        .where(
            Suggestion.point_id == point.id,
            Suggestion.kind == SuggestionKind.SECTION,
            Suggestion.state == SuggestionState.ACCEPTED,
        )
        .order_by(Suggestion.decided_at.desc(), Suggestion.id.desc())
        .limit(1)
    )
    if accepted == point.section_id and point.target is Target.SECTION:
        return Source.SUGGESTION
    return Source.PERSON


def tag_sources(session: Session, point_ids: Iterable[int]) -> dict[tuple[int, int], Source]:
    """(point id, tag id) → where that tag came from (one statement)."""
    ids = list(point_ids)
    if not ids:
        return {}
    return {
        (point_id, tag_id): source
        for point_id, tag_id, source in session.execute(
            select(PointTag.point_id, PointTag.tag_id, PointTag.source).where(
                PointTag.point_id.in_(ids)
            )
        )
    }


# Evaluation on a labelled sample (docs/performance.md) -------------------------------------


@dataclass(frozen=True)
class Evaluation:
    points: int
    area_top1: int
    section_top1: int
    area_top3: int
    section_top3: int

    def share(self, hits: int) -> float:
        return hits / self.points if self.points else 0.0


def evaluate(suggester: Suggester, sample: Sequence[tuple[str, PolicyArea, str]]) -> Evaluation:
    """How often the top suggestion is right on ``sample`` (text, area, section number)."""
    scored = suggester.score([text for text, _area, _number in sample])
    tallies = [0, 0, 0, 0]
    for (_text, area, number), items in zip(sample, scored, strict=True):
        areas = [i.policy_area for i in items if i.kind is SuggestionKind.POLICY_AREA]
        sections = [i.section.number for i in items if i.kind is SuggestionKind.SECTION]
        tallies[0] += areas[:1] == [area]
        tallies[1] += sections[:1] == [number]
        tallies[2] += area in areas
        tallies[3] += number in sections
    return Evaluation(len(sample), tallies[0], tallies[1], tallies[2], tallies[3])
