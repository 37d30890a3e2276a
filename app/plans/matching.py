"""Proposing, for an imported successor, which section and paragraph each one continues.

Sections match on the same number and title first, then the same title, then the same number.
Paragraphs match on the same text first, then on text similarity within the matched section,
then anywhere; a new paragraph whose text lies inside an old one continues it too (a split), and
an old paragraph whose text lies inside a new one is merged into it. The editor sees the
proposal and corrects it before anything is saved.

The proposal is made inside the upload request, so its cost is bounded: each text is normalised
once; a new paragraph is compared only with the few old ones sharing the most of its less common
words (found through an index of words, not by trying every pair); and all the comparisons of
one import stay within :data:`MAX_GLOBAL_PAIRS`. Past it, the paragraphs left are proposed as
new, for the editor to correct.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from itertools import chain

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
#: How many of a new paragraph's rarest words are looked up to find those candidates.
CLUES = 12
#: A paragraph this similar to a candidate is taken without comparing the others.
CLEARLY_THE_SAME = 0.9
#: A word found in more than this share of the paragraphs (and more than MIN_COMMON of them)
#: says little about which paragraph is which: it does not make a candidate.
COMMON_SHARE = 0.1
MIN_COMMON = 20


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
    """Which of some texts hold each word (texts are named by their position), and which of
    them are still free to be matched."""

    def __init__(self, texts: list[_Text], taken: Iterable[int] = ()) -> None:
        self.texts = texts
        self.postings: dict[str, list[int]] = defaultdict(list)
        for position, text in enumerate(texts):
            for word in set(text.words):
                self.postings[word].append(position)
        self.free = {word: set(posting) for word, posting in self.postings.items()}
        for position in taken:
            self.take(position)
        self.common = max(MIN_COMMON, int(len(texts) * COMMON_SHARE))

    def take(self, position: int) -> None:
        for word in set(self.texts[position].words):
            self.free[word].discard(position)

    def sharing(self, text: _Text) -> list[int]:
        """Up to :data:`CANDIDATES` free texts, those sharing the most of this text's rarest
        words first (at most :data:`CLUES` of them, each held by few texts)."""
        postings = [self.free[word] for word in set(text.words) if word in self.free]
        postings = sorted((p for p in postings if len(p) <= self.common), key=len)[:CLUES]
        counts = Counter(chain.from_iterable(postings))
        return heapq.nsmallest(CANDIDATES, counts, key=lambda p: (-counts[p], p))

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
    new = [(item, para, _Text(para["text"])) for item in sections for para in item["paragraphs"]]
    for _item, para, _text in new:
        para["match"] = []
    taken: set[str] = set()
    budget = _Budget(MAX_GLOBAL_PAIRS)

    def take(para: dict, paragraph) -> None:
        para["match"].append(paragraph.key)
        taken.add(paragraph.key)

    # 1. the same text, preferably in the matched section
    for item, para, text in new:
        chosen = _first_free(exact_here.get((text.norm, item["match"])), taken)
        chosen = chosen or _first_free(exact.get(text.norm), taken)
        if chosen is not None:
            take(para, chosen)

    # 2. similar text within the matched section; text inside an old paragraph (a split)
    pools = {}
    for key, items in old_by_section.items():
        texts = [old_text[p.key] for p in items]
        pools[key] = items, _Index(texts, [i for i, p in enumerate(items) if p.key in taken])
    for item, para, text in new:
        if para["match"] or item["match"] not in pools:
            continue
        items, index = pools[item["match"]]
        position = _best(text, index, budget)
        if position is not None:
            take(para, items[position])
            index.take(position)
        elif len(para["text"]) >= MIN_CONTAINED:
            for i in index.containing(text):
                if not budget.take():
                    break
                if text.norm in old_text[items[i].key].norm:
                    take(para, items[i])
                    index.take(i)
                    break

    # 3. similar text anywhere (a paragraph moved to another section)
    loose = [p for _key, p in old if p.key not in taken]
    if loose:
        index = _Index([old_text[p.key] for p in loose])
        for _item, para, text in new:
            if not para["match"]:
                position = _best(text, index, budget)
                if position is not None:
                    take(para, loose[position])
                    index.take(position)

    # 4. an old paragraph left over whose text lies inside a new one was merged into it
    receivers: dict[str, list] = defaultdict(list)  # old section key -> new paragraphs, in order
    for item, para, text in new:
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
    for _item, para, _text in new:
        para["match"].sort(key=lambda key: (by_key[key].section_id, by_key[key].position))


def _best(text: _Text, index: _Index, budget: _Budget) -> int | None:
    """The free text of ``index`` most similar to ``text``, if similar enough (the first of
    equals; one clearly the same ends the search)."""
    best, best_score = None, THRESHOLD
    for position in index.sharing(text):
        if not budget.take():
            break
        score = word_similarity(text.words, index.texts[position].words)
        if score > best_score or (best is None and score == best_score):
            best, best_score = position, score
        if score >= CLEARLY_THE_SAME:
            break
    return best
