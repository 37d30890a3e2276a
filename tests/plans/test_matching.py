"""Matching an imported successor to its predecessor: right proposals, bounded work."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from app.plans import matching
from app.plans.tree import Node, VersionTree

SYLLABLES = ("ma", "ri", "co", "lo", "ne", "ta", "ser", "vi", "zio", "pia", "no", "ter", "ra")


def _vocabulary(rnd: random.Random, size: int = 400) -> list[str]:
    return ["".join(rnd.choices(SYLLABLES, k=rnd.randint(2, 4))) for _ in range(size)]


def _text(rnd: random.Random, words: list[str], length: int = 40) -> str:
    return " ".join(rnd.choices(words, k=length)) + "."


def old_tree(sections: dict[str, list[str]]) -> VersionTree:
    """A predecessor held in memory: section number -> paragraph texts."""
    nodes = []
    for section_id, (number, texts) in enumerate(sections.items(), start=1):
        section = SimpleNamespace(id=section_id, key=f"s{number}", number=number, title=number)
        paragraphs = [
            SimpleNamespace(key=f"{number}-{i}", text=text, section_id=section_id, position=i)
            for i, text in enumerate(texts)
        ]
        nodes.append(Node(section, 1, paragraphs=paragraphs))
    return VersionTree(None, nodes, {node.section.id: node for node in nodes})


def parsed(sections: dict[str, list[str]]) -> list[dict]:
    return [
        {
            "level": 1,
            "number": number,
            "title": number,
            "paragraphs": [{"html": text, "text": text} for text in texts],
        }
        for number, texts in sections.items()
    ]


def _edit(rnd: random.Random, text: str, words: list[str]) -> str:
    """A light edit: a word added at the start, one replaced."""
    parts = text.split()
    parts[rnd.randrange(len(parts))] = rnd.choice(words)
    return "Inoltre " + " ".join(parts)


@pytest.fixture
def counted(monkeypatch):
    """How many times two paragraphs are compared."""
    calls = []
    real = matching.word_similarity

    def counting(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(matching, "word_similarity", counting)
    return calls


def test_lightly_edited_paragraphs_of_one_large_section_are_matched_one_to_one(counted):
    rnd = random.Random(1)
    words = _vocabulary(rnd)
    old = [_text(rnd, words) for _ in range(1_000)]
    structure = parsed({"1": [_edit(rnd, text, words) for text in old]})
    matching.propose(structure, old_tree({"1": old}))
    proposed = [p["match"] for p in structure[0]["paragraphs"]]
    assert proposed == [[f"1-{i}"] for i in range(1_000)]
    # each new paragraph is compared with a few candidates, not with every old paragraph
    assert len(counted) <= matching.CANDIDATES * 1_000


def test_the_comparisons_of_an_import_stay_within_the_budget(monkeypatch, counted):
    monkeypatch.setattr(matching, "MAX_GLOBAL_PAIRS", 50)
    rnd = random.Random(2)
    words = _vocabulary(rnd)
    old = [_text(rnd, words) for _ in range(300)]
    new = [old[0], *(_edit(rnd, text, words) for text in old[1:])]
    structure = parsed({"1": new})
    matching.propose(structure, old_tree({"1": old}))
    proposed = [p["match"] for p in structure[0]["paragraphs"]]
    assert len(counted) <= 50
    assert proposed[0] == ["1-0"]  # the same text needs no comparison
    assert 0 < sum(1 for match in proposed if match) <= 51  # the others are left as new


def test_the_same_text_goes_to_the_matched_section_first():
    text = "Un paragrafo uguale in due sezioni diverse del piano."
    structure = parsed({"2": [text], "1": [text]})
    matching.propose(structure, old_tree({"1": [text], "2": [text]}))
    assert [s["paragraphs"][0]["match"] for s in structure] == [["2-0"], ["1-0"]]


def test_a_paragraph_moved_to_another_section_is_found():
    rnd = random.Random(3)
    words = _vocabulary(rnd)
    first = [_text(rnd, words) for _ in range(400)]
    second = [_text(rnd, words) for _ in range(400)]
    # every paragraph of the first section moves, lightly edited, to the second
    structure = parsed({"1": [], "2": second + [_edit(rnd, t, words) for t in first]})
    matching.propose(structure, old_tree({"1": first, "2": second}))
    proposed = [p["match"] for p in structure[1]["paragraphs"][400:]]
    assert proposed == [[f"1-{i}"] for i in range(400)]


def test_splits_and_merges_are_proposed():
    one = "La Città metropolitana promuove la cooperazione tra i comuni."
    two = "Sostiene le reti di impresa e i distretti del commercio locale."
    three = "Semplifica le procedure e l'accesso ai servizi per i cittadini."
    structure = parsed({"1": [f"{one} {two}", "Sostiene le reti di impresa.", three]})
    matching.propose(
        structure,
        old_tree({"1": [one, two, f"{three} Riduce anche la burocrazia degli uffici."]}),
    )
    proposed = [p["match"] for p in structure[0]["paragraphs"]]
    assert proposed[0] == ["1-0", "1-1"]  # merged
    assert proposed[2] == ["1-2"]  # the text lies inside the old one: a split
