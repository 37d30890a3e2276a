"""Proposing, for an imported successor, which section and paragraph each one continues.

Sections match on the same number and title first, then the same title, then the same number.
Paragraphs match on the same text first, then on text similarity within the matched section,
then anywhere; a new paragraph whose text lies inside an old one continues it too (a split), and
an old paragraph whose text lies inside a new one is merged into it. The editor sees the
proposal and corrects it before anything is saved.

The proposal is made inside the upload request, so its cost is bounded: each text is normalised
once; a new paragraph is compared only with the few old ones sharing the most of its rarest
words (found through an index of words, looking near the paragraph's place for common ones,
never by trying every pair); and all the comparisons of one import stay within
:data:`MAX_GLOBAL_PAIRS`. Past it, the paragraphs left are proposed as new, for the editor to
correct.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from typing import NamedTuple

from app.plans.text import word_similarity
from app.plans.tree import VersionTree

#: Below this word similarity two paragraphs are not proposed as the same.
THRESHOLD = 0.5
#: Shortest text taken as evidence of a split or merge when found inside another one.
MIN_CONTAINED = 30
#: The comparisons of one import (similarities and containment checks) stay within this.
MAX_GLOBAL_PAIRS = 200_000
#: How many of the paragraphs sharing the most words with a new one are compared with it.
CANDIDATES = 8
#: How many of a new paragraph's rarest words are looked up to find those candidates; a word
#: held by more than FEW paragraphs is looked up among the NEAREST to the new one's place.
CLUES = 8
FEW = 50
NEAREST = 10
#: A paragraph this similar to a candidate is taken without comparing the others.
CLEARLY_THE_SAME = 0.9


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


class _Text:
    """A paragraph's text, normalised once, and its words."""

    __slots__ = ("norm", "words")

    def __init__(self, text: str) -> None:
        self.norm = _norm(text)
        self.words = self.norm.split()


class _Budget:
    def __init__(self, pairs: int) -> None:
        self.remaining = pairs

    def take(self) -> bool:
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class _Index:
    """Which of some texts hold each word (texts are named by their position in order), and
    which of them are still free to be matched."""

    def __init__(self, texts: list[_Text], taken: Iterable[int] = ()) -> None:
        self.texts = texts
        self.postings: dict[str, list[int]] = defaultdict(list)
        for position, text in enumerate(texts):
            for word in set(text.words):
                self.postings[word].append(position)
        self.taken = set(taken)

    def sharing(self, text: _Text, place: float) -> list[int]:
        """Up to :data:`CANDIDATES` free texts sharing the most of this text's rarest words.

        Each of its :data:`CLUES` rarest words is looked up among the texts holding it: all of
        them when they are :data:`FEW`, else the :data:`NEAREST` free ones closest to ``place``
        (0 to 1: where the text stands among the new ones). The work per text is bounded: a
        rare word's texts are all found, wherever they are; a common word's, nearby."""
        center = place * len(self.texts)
        words = sorted(set(text.words), key=lambda word: len(self.postings.get(word, ())))
        counts: Counter = Counter()
        for word in words[:CLUES]:
            counts.update(self._nearest_free(self.postings.get(word, []), center))
        return heapq.nsmallest(CANDIDATES, counts, key=lambda p: (-counts[p], abs(p - center), p))

    def _nearest_free(self, posting: list[int], center: float) -> list[int]:
        if len(posting) <= FEW:
            return [position for position in posting if position not in self.taken]
        below = bisect.bisect_left(posting, center) - 1
        above = below + 1
        found: list[int] = []
        for _step in range(4 * NEAREST):  # taken ones are passed over, up to a point
            if len(found) == NEAREST or (below < 0 and above >= len(posting)):
                break
            if above < len(posting) and (
                below < 0 or posting[above] - center <= center - posting[below]
            ):
                position, above = posting[above], above + 1
            else:
                position, below = posting[below], below - 1
            if position not in self.taken:
                found.append(position)
        return found

    def containing(self, text: _Text) -> list[int]:
        """The texts that may contain ``text``, free or not: those holding its rarest word."""
        if not text.words:
            return []
        rarest = min(set(text.words), key=lambda word: len(self.postings.get(word, ())))
        return list(self.postings.get(rarest, ()))


def _propose_sections(sections: list[dict], tree: VersionTree) -> None:
    by_both, by_title, by_number = defaultdict(list), defaultdict(list), defaultdict(list)
    for node in tree.walk():
        section = node.section
        by_both[(section.number, _norm(section.title))].append(section.key)
        by_title[_norm(section.title)].append(section.key)
        if section.number:
            by_number[section.number].append(section.key)
    used: set[str] = set()
    for item in sections:
        item["match"] = None
        candidates = (
            by_both.get((item["number"], _norm(item["title"])), [])
            + by_title.get(_norm(item["title"]), [])
            + (by_number.get(item["number"], []) if item["number"] else [])
        )
        for key in candidates:
            if key not in used:
                item["match"] = key
                used.add(key)
                break


class _Place(NamedTuple):
    """Where a new paragraph stands, 0 to 1: among its section's paragraphs, and in the text."""

    in_section: float
    in_text: float


def _new_paragraphs(sections: list[dict]) -> list[tuple[dict, dict, _Text, _Place]]:
    """Each new paragraph with its section, its normalised text and its place; its ``match``
    starts empty."""
    total = sum(len(item["paragraphs"]) for item in sections) or 1
    new = []
    for item in sections:
        count = len(item["paragraphs"])
        for position, para in enumerate(item["paragraphs"]):
            para["match"] = []
            place = _Place(position / count, len(new) / total)
            new.append((item, para, _Text(para["text"]), place))
    return new


def _first_free(queue: deque | None, taken: set[str]):
    """The first paragraph of ``queue`` not taken yet (taken ones are dropped on the way)."""
    while queue and queue[0].key in taken:
        queue.popleft()
    return queue[0] if queue else None


def propose(sections: list[dict], tree: VersionTree) -> None:
    """Add ``match`` (a section key or None) to each section and ``match`` (a list of paragraph
    keys) to each paragraph of the parsed structure."""
    _propose_sections(sections, tree)
    old = [(node.section.key, p) for node, p in tree.paragraphs()]
    old_text = {p.key: _Text(p.text) for _key, p in old}
    old_by_section: dict[str, list] = defaultdict(list)
    exact: dict[str, deque] = defaultdict(deque)
    exact_here: dict[tuple[str, str], deque] = defaultdict(deque)
    for section_key, paragraph in old:
        norm = old_text[paragraph.key].norm
        old_by_section[section_key].append(paragraph)
        exact[norm].append(paragraph)
        exact_here[(norm, section_key)].append(paragraph)
    new = _new_paragraphs(sections)
    taken: set[str] = set()
    budget = _Budget(MAX_GLOBAL_PAIRS)

    def take(para: dict, paragraph) -> None:
        para["match"].append(paragraph.key)
        taken.add(paragraph.key)

    # 1. the same text, preferably in the matched section
    for item, para, text, _place in new:
        chosen = _first_free(exact_here.get((text.norm, item["match"])), taken)
        chosen = chosen or _first_free(exact.get(text.norm), taken)
        if chosen is not None:
            take(para, chosen)

    # 2. similar text within the matched section; text inside an old paragraph (a split)
    pools = {}
    for key, items in old_by_section.items():
        texts = [old_text[p.key] for p in items]
        pools[key] = items, _Index(texts, [i for i, p in enumerate(items) if p.key in taken])
    for item, para, text, place in new:
        if para["match"] or item["match"] not in pools:
            continue
        items, index = pools[item["match"]]
        position = _best(text, index, place.in_section, budget)
        if position is not None:
            take(para, items[position])
            index.taken.add(position)
        elif len(para["text"]) >= MIN_CONTAINED:
            for i in index.containing(text):
                if not budget.take():
                    break
                if text.norm in old_text[items[i].key].norm:
                    take(para, items[i])
                    index.taken.add(i)
                    break

    # 3. similar text anywhere (a paragraph moved to another section)
    loose = [p for _key, p in old if p.key not in taken]
    if loose:
        index = _Index([old_text[p.key] for p in loose])
        for _item, para, text, place in new:
            if not para["match"]:
                position = _best(text, index, place.in_text, budget)
                if position is not None:
                    take(para, loose[position])
                    index.taken.add(position)

    # 4. an old paragraph left over whose text lies inside a new one was merged into it
    receivers: dict[str, list] = defaultdict(list)  # old section key -> new paragraphs, in order
    for item, para, text, _place in new:
        if para["match"] and item["match"] is not None:
            receivers[item["match"]].append((para, text))
    receiver_index = {
        key: _Index([text for _para, text in items]) for key, items in receivers.items()
    }
    for section_key, paragraph in old:
        text = old_text[paragraph.key]
        if paragraph.key in taken or len(paragraph.text) < MIN_CONTAINED:
            continue
        if section_key not in receivers:
            continue
        items = receivers[section_key]
        for i in receiver_index[section_key].containing(text):
            if not budget.take():
                break
            if text.norm in items[i][1].norm:
                take(items[i][0], paragraph)
                break

    by_key = {p.key: p for _key, p in old}
    for _item, para, _text, _place in new:
        para["match"].sort(key=lambda key: (by_key[key].section_id, by_key[key].position))


def _best(text: _Text, index: _Index, place: float, budget: _Budget) -> int | None:
    """The free text of ``index`` most similar to ``text``, if similar enough (the first of
    equals; one clearly the same ends the search)."""
    best, best_score = None, THRESHOLD
    for position in index.sharing(text, place):
        if not budget.take():
            break
        score = word_similarity(text.words, index.texts[position].words)
        if score > best_score or (best is None and score == best_score):
            best, best_score = position, score
        if score >= CLEARLY_THE_SAME:
            break
    return best
