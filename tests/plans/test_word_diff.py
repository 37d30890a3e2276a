"""The word-level diff: what it marks, that it keeps both texts, and that its cost is bounded."""

from __future__ import annotations

import difflib
import random
import re

import pytest

from app.plans import text as plan_text
from app.plans.diff import compare
from app.plans.models import VersionStatus
from app.plans.text import PARAGRAPH_BREAK, DiffBudget, tokens, word_diff
from app.plans.tree import load_tree

WORDS = [
    "comune",
    "zona",
    "piano",
    "metropolitana",
    "servizi",
    "progetto",
    "rete",
    "sviluppo",
    "territorio",
    ",",
    ".",
]


def _old_side(html: str) -> str:
    """The text before the change: insertions dropped, deletions kept."""
    return _unescape(re.sub(r"</?del>", "", re.sub(r"<ins>.*?</ins>", "", html, flags=re.S)))


def _new_side(html: str) -> str:
    """The text after the change: deletions dropped, insertions kept."""
    return _unescape(re.sub(r"</?ins>", "", re.sub(r"<del>.*?</del>", "", html, flags=re.S)))


def _unescape(html: str) -> str:
    html = html.replace('<span class="diff-break" aria-hidden="true"> ¶ </span><br>', "\n\n")
    return html.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _sentence(rnd: random.Random, length: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(length))


def test_tokens_are_words_with_their_trailing_spaces():
    assert tokens("Il piano, approvato.") == ["Il ", "piano", ", ", "approvato", "."]
    assert "".join(tokens(f"a  b{PARAGRAPH_BREAK}c ")) == f"a  b{PARAGRAPH_BREAK}c "
    assert tokens(f"a{PARAGRAPH_BREAK}b") == ["a", PARAGRAPH_BREAK, "b"]


def test_an_inserted_word_and_a_deleted_word_are_marked():
    html, changed = word_diff("Il piano della città.", "Il nuovo piano città.")
    assert changed
    assert html == "Il <ins>nuovo </ins>piano <del>della </del>città."


def test_a_word_added_at_the_end_is_marked_alone():
    html, _changed = word_diff("Ridurre la burocrazia", "Ridurre la burocrazia subito")
    assert html == "Ridurre la burocrazia <ins>subito</ins>"


def test_the_same_text_is_not_a_change():
    html, changed = word_diff("Uguale & identico.", "Uguale & identico.")
    assert (html, changed) == ("Uguale &amp; identico.", False)


def test_paragraph_breaks_are_shown(app):
    html, changed = word_diff(
        "Prima parte seconda parte.", f"Prima parte{PARAGRAPH_BREAK}seconda parte."
    )
    assert changed and "diff-break" in html


@pytest.mark.parametrize("seed", range(20))
def test_both_texts_can_be_read_back_from_the_diff(seed):
    rnd = random.Random(seed)
    old = _sentence(rnd, rnd.randint(0, 60))
    words = old.split()
    for _ in range(rnd.randint(1, 6)):
        at = rnd.randint(0, len(words))
        if rnd.random() < 0.5 and words:
            del words[min(at, len(words) - 1)]
        else:
            words.insert(at, rnd.choice(WORDS))
    new = " ".join(words)
    html, changed = word_diff(old, new)
    assert _new_side(html).split() == new.split()
    assert _old_side(html).split() == old.split()
    assert changed == (old.split() != new.split())


def test_a_small_change_in_a_very_long_paragraph_is_still_marked_word_by_word():
    rnd = random.Random(1)
    words = _sentence(rnd, 20_000).split()
    old = " ".join(words)
    words[10_000] = "novità"
    new = " ".join(words)
    html, _changed = word_diff(old, new)
    assert html.count("<ins>") == 1 and html.count("<del>") == 1
    assert "<ins>novità </ins>" in html
    assert _new_side(html) == new


def test_a_long_rewrite_is_shown_as_one_deletion_and_one_insertion(monkeypatch):
    """Above the token limit the words are not matched: the matcher never sees long inputs."""
    compared = []
    real = difflib.SequenceMatcher

    def recording(isjunk, a, b, **kwargs):
        compared.append((len(a), len(b)))
        return real(isjunk, a, b, **kwargs)

    monkeypatch.setattr(plan_text.difflib, "SequenceMatcher", recording)
    rnd = random.Random(2)
    old = "Premessa. " + _sentence(rnd, 8_000) + " Fine."
    new = "Introduzione. " + _sentence(rnd, 8_000) + " Fine."
    html, changed = word_diff(old, new)
    assert changed
    assert html.count("<del>") == 1 and html.count("<ins>") == 1
    assert html.endswith("</ins>Fine.")
    assert _old_side(html) == old and _new_side(html) == new
    assert all(max(sizes) <= plan_text.MAX_DIFF_TOKENS for sizes in compared)


def test_a_spent_budget_shows_the_next_changes_as_blocks():
    budget = DiffBudget(pairs=10)
    first, _changed = word_diff("uno due tre", "uno quattro tre", budget)
    assert first == "uno <del>due </del><ins>quattro </ins>tre"
    rnd = random.Random(3)
    old, new = _sentence(rnd, 50), _sentence(rnd, 50)
    second, _changed = word_diff("A " + old, "B " + new, budget)
    assert second.count("<del>") == 1 and second.count("<ins>") == 1
    assert _new_side(second) == "B " + new


def test_the_diff_page_shows_a_very_long_rewritten_paragraph(
    db, client, make_version, make_successor
):
    from app.plans import operations

    rnd = random.Random(4)
    first = make_version(
        text=[(1, "1", "Unica", [_sentence(rnd, 9_000)])], status=VersionStatus.FROZEN
    )
    second = make_successor(first)
    paragraph = next(load_tree(db.session, second).paragraphs())[1]
    rewritten = _sentence(rnd, 9_000)
    operations.update_paragraph(
        db.session, paragraph, html=rewritten, seen_lock=paragraph.lock_version
    )
    second.freeze()
    db.session.commit()
    changes = [c for s in compare(db.session, first, second).sections for c in s.changes]
    assert len(changes) == 1 and changes[0].html.count("<ins>") == 1
    response = client.get(f"/plans/{first.plan.slug}/diff?old=1&new=2")
    assert response.status_code == 200
    assert "<ins>" in response.get_data(as_text=True)
