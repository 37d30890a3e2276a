"""Paragraph text: cleaning HTML to the allow-list, its plain form, keys, and word-level diffs."""

from __future__ import annotations

import difflib
import html
import re
import secrets
from collections import Counter
from collections.abc import Iterable

import nh3

#: What a paragraph may contain: paragraphs, emphasis, lists, links and tables.
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "sub",
    "sup",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|li|td|th|tr|caption|ul|ol|table)>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def clean_html(fragment: str) -> str:
    """The fragment reduced to the allow-list: scripts, styles and event handlers removed."""
    cleaned = nh3.clean(
        fragment or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return cleaned.strip()


def plain_text(fragment: str) -> str:
    """The words of a cleaned fragment, with single spaces (block ends count as spaces)."""
    spaced = _BLOCK_END.sub(" ", fragment)
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", spaced))).strip()


def text_to_html(text: str) -> str:
    """A plain-text paragraph as HTML."""
    return html.escape(_SPACE.sub(" ", text).strip(), quote=False)


def new_key(taken: set[str]) -> str:
    """A short random key not in ``taken`` (which is updated)."""
    while True:
        key = secrets.token_hex(3)
        if key not in taken:
            taken.add(key)
            return key


# Word-level diff ---------------------------------------------------------------------------

#: Marks the boundary between paragraphs when several are compared at once (split, merge).
PARAGRAPH_BREAK = "\n\n"
#: A word or a punctuation mark with the spaces after it; a paragraph break; leading spaces.
_TOKEN = re.compile(r"\n\n|\w+[^\S\n]*|[^\w\s][^\S\n]*|[^\S\n]+|\n", re.UNICODE)
#: Above this many differing tokens on either side, the words are not matched one by one: the
#: differing stretch is shown as one deletion and one insertion (the matcher's cost grows with
#: the product of the two lengths, and the diff page is public).
MAX_DIFF_TOKENS = 2_000
#: The word matching one page may do, counted as pairs of equal words the matcher looks at
#: (natural text: a few hundred per paragraph; a text repeating a few words: millions).
MAX_PAGE_PAIRS = 10_000_000


class DiffBudget:
    """The word matching left to one page: once spent, changes are shown as whole blocks."""

    def __init__(self, pairs: int = MAX_PAGE_PAIRS) -> None:
        self.remaining = pairs

    def spend(self, a: list[str], b: list[str]) -> bool:
        """Take what matching ``a`` with ``b`` costs, if it is left."""
        counts = Counter(a)
        cost = sum(counts[key] for key in b)
        if cost > self.remaining:
            return False
        self.remaining -= cost
        return True


def tokens(text: str) -> list[str]:
    """The text cut into words and punctuation marks, each with its trailing spaces (joined
    back, they are the text)."""
    return _TOKEN.findall(text)


def _key(token: str) -> str:
    """What is compared: the word without its trailing spaces."""
    return token if token.isspace() else token.rstrip()


def _render(parts: Iterable[str]) -> str:
    out = []
    for part in parts:
        if part == PARAGRAPH_BREAK:
            out.append('<span class="diff-break" aria-hidden="true"> ¶ </span><br>')
        else:
            out.append(html.escape(part, quote=False))
    return "".join(out)


def _same(a: list[str], b: list[str]) -> list[str]:
    """Equal words, with the spaces after them taken from whichever side has some (a word
    last in one text may be followed by a deleted or inserted one in the other)."""
    return [y if len(y) >= len(x) or y.isspace() else x for x, y in zip(a, b, strict=True)]


def _common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """How many keys ``a`` and ``b`` share at their start, and then at their end."""
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start, end


def word_diff(old: str, new: str, budget: DiffBudget | None = None) -> tuple[str, bool]:
    """HTML marking what changed from ``old`` to ``new`` with <del>/<ins>; and whether anything
    did.

    The unchanged start and end are set aside first; what differs in between is matched word by
    word when it is at most :data:`MAX_DIFF_TOKENS` long on both sides and ``budget`` (shared by
    the changes of one page) is not spent, and otherwise shown as one deletion followed by one
    insertion: coarser, still exact, and the time taken stays bounded.
    """
    a, b = tokens(old), tokens(new)
    keys_a, keys_b = [_key(t) for t in a], [_key(t) for t in b]
    start, end = _common_ends(keys_a, keys_b)
    middle_a, middle_b = keys_a[start : len(a) - end], keys_b[start : len(b) - end]
    if (
        len(middle_a) > MAX_DIFF_TOKENS
        or len(middle_b) > MAX_DIFF_TOKENS
        or (budget is not None and not budget.spend(middle_a, middle_b))
    ):
        opcodes = [("replace", 0, len(middle_a), 0, len(middle_b))]
    else:
        matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
        opcodes = matcher.get_opcodes()
    out = [_render(_same(a[:start], b[:start]))]
    changed = False
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            out.append(_render(_same(a[start + i1 : start + i2], b[start + j1 : start + j2])))
            continue
        if i2 > i1:
            changed = True
            out.append(f"<del>{_render(a[start + i1 : start + i2])}</del>")
        if j2 > j1:
            changed = True
            out.append(f"<ins>{_render(b[start + j1 : start + j2])}</ins>")
    out.append(_render(_same(a[len(a) - end :], b[len(b) - end :])))
    return "".join(out), changed


#: Two texts whose word counts multiply to more than this are compared by the words they share,
#: not by their order (the matcher's cost grows with the product of the lengths).
MAX_SIMILARITY_PAIRS = 250_000


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0 to 1, word by word."""
    return word_similarity(a.split(), b.split())


def word_similarity(a: list[str], b: list[str]) -> float:
    """How alike two lists of words are, 0 to 1."""
    if not a and not b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < 0.4 or matcher.quick_ratio() < 0.4:
        return 0.0
    if len(a) * len(b) > MAX_SIMILARITY_PAIRS:
        return matcher.quick_ratio()
    return matcher.ratio()
