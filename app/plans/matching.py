"""Proposing, for an imported successor, which section and paragraph each one continues.

Sections match on the same number and title first, then the same title, then the same number.
Paragraphs match on the same text first, then on text similarity within the matched section,
then anywhere; a new paragraph whose text lies inside an old one continues it too (a split), and
an old paragraph whose text lies inside a new one is merged into it. The editor sees the
proposal and corrects it before anything is saved.
"""

from __future__ import annotations

import re
from collections import defaultdict

from app.plans.text import similarity
from app.plans.tree import VersionTree

#: Below this word similarity two paragraphs are not proposed as the same.
THRESHOLD = 0.5
#: Longest text taken as evidence of a split or merge when found inside another one.
MIN_CONTAINED = 30
#: The global similarity pass compares at most this many pairs (keeps big imports fast).
MAX_GLOBAL_PAIRS = 200_000


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


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


def propose(sections: list[dict], tree: VersionTree) -> None:
    """Add ``match`` (a section key or None) to each section and ``match`` (a list of paragraph
    keys) to each paragraph of the parsed structure."""
    _propose_sections(sections, tree)
    old = [(node.section.key, p) for node, p in tree.paragraphs()]
    old_by_section: dict[str, list] = defaultdict(list)
    exact: dict[str, list] = defaultdict(list)
    for section_key, paragraph in old:
        old_by_section[section_key].append(paragraph)
        exact[_norm(paragraph.text)].append(paragraph)
    taken: set[str] = set()
    new = [(item, para) for item in sections for para in item["paragraphs"]]
    for _item, para in new:
        para["match"] = []

    # 1. the same text, preferably in the matched section
    for item, para in new:
        candidates = [p for p in exact.get(_norm(para["text"]), []) if p.key not in taken]
        if candidates:
            local = [p for p in candidates if p in old_by_section.get(item["match"], [])]
            chosen = (local or candidates)[0]
            para["match"] = [chosen.key]
            taken.add(chosen.key)

    # 2. similar text within the matched section; text inside an old paragraph (a split)
    for item, para in new:
        if para["match"]:
            continue
        pool = old_by_section.get(item["match"], [])
        best = _best(para["text"], [p for p in pool if p.key not in taken])
        if best is not None:
            para["match"] = [best.key]
            taken.add(best.key)
            continue
        inside = [
            p
            for p in pool
            if len(para["text"]) >= MIN_CONTAINED and _norm(para["text"]) in _norm(p.text)
        ]
        if inside:
            para["match"] = [inside[0].key]
            taken.add(inside[0].key)

    # 3. similar text anywhere (a paragraph moved to another section), within a budget
    loose_new = [para for _item, para in new if not para["match"]]
    loose_old = [p for _key, p in old if p.key not in taken]
    if loose_new and loose_old and len(loose_new) * len(loose_old) <= MAX_GLOBAL_PAIRS:
        for para in loose_new:
            best = _best(para["text"], [p for p in loose_old if p.key not in taken])
            if best is not None:
                para["match"] = [best.key]
                taken.add(best.key)

    # 4. an old paragraph left over whose text lies inside a new one was merged into it
    by_key = {p.key: p for _key, p in old}
    for item, para in new:
        if not para["match"]:
            continue
        for p in old_by_section.get(item["match"], []):
            if (
                p.key not in taken
                and len(p.text) >= MIN_CONTAINED
                and _norm(p.text) in _norm(para["text"])
            ):
                para["match"].append(p.key)
                taken.add(p.key)
        para["match"].sort(key=lambda key: (by_key[key].section_id, by_key[key].position))


def _best(text: str, candidates: list):
    best, best_score = None, THRESHOLD
    for candidate in candidates:
        score = similarity(text, candidate.text)
        if score >= best_score:
            best, best_score = candidate, score
    return best
