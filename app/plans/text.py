"""Paragraph text: cleaning HTML to the allow-list, its plain form, keys, and word-level diffs."""

from __future__ import annotations

import difflib
import html
import re
import secrets
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
_TOKEN = re.compile(r"\n\n|\s+|\w+|[^\w\s]", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _render(parts: Iterable[str]) -> str:
    out = []
    for part in parts:
        if part == PARAGRAPH_BREAK:
            out.append('<span class="diff-break" aria-hidden="true"> ¶ </span><br>')
        else:
            out.append(html.escape(part, quote=False))
    return "".join(out)


def word_diff(old: str, new: str) -> tuple[str, bool]:
    """HTML marking what changed from ``old`` to ``new`` with <del>/<ins>; and whether anything
    did."""
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out: list[str] = []
    changed = False
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(_render(a[i1:i2]))
            continue
        changed = True
        if i2 > i1:
            out.append(f"<del>{_render(a[i1:i2])}</del>")
        if j2 > j1:
            out.append(f"<ins>{_render(b[j1:j2])}</ins>")
    return "".join(out), changed


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0 to 1, word by word."""
    if not a and not b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    if matcher.real_quick_ratio() < 0.4 or matcher.quick_ratio() < 0.4:
        return 0.0
    return matcher.ratio()
