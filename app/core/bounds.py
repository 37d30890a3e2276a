"""Bounds on what a request may carry, each checked in one place for every view.

- URL integers: the ``int`` converter of every route refuses values beyond the database's
  signed 32-bit INTEGER (``<int(max=…):x>`` for a BIGINT column), so ``/rounds/<huge>/`` is a
  404 instead of an overflow in the driver.
- ``?page=``: ``page_argument`` (used by ``db.paginate``) reads it; garbage is page 1, a page
  beyond the same bound is a 404.
- Form and query values: a NUL character (which PostgreSQL refuses to store and SQLite keeps) is
  a 400 before any view runs.
- JSON bodies: ``load_json`` refuses a body nested deeper than ``MAX_JSON_DEPTH``, malformed or
  unterminated JSON, lone surrogates and control characters, with a message naming the field.

``next`` targets are checked by ``app.core.urls.safe_next_url`` (no CR/LF, no other site).
"""

from __future__ import annotations

import json
import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, ValidationError

from app.core.i18n import lazy_gettext as _l

#: The largest id a URL may name: PostgreSQL's INTEGER (SQLite's is 64-bit, but our ids are
#: INTEGER on PostgreSQL).
DB_INT_MAX = 2**31 - 1
#: Past BIGINT: no column holds more, so longer digit strings are never converted.
_MAX_DIGITS = 19
MAX_JSON_DEPTH = 32
NUL_MESSAGE = _l(
    "What you sent contains a NUL character, which cannot be stored. Nothing was changed."
)


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's ``int`` with a maximum (``DB_INT_MAX`` unless a rule says otherwise)."""

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value.lstrip("-")) > _MAX_DIGITS:
            raise ValidationError()
        return super().to_python(value)


def page_argument(name: str = "page") -> int:
    """The page a list shows: 1 when absent or garbage, 404 beyond what a database can offset."""
    raw = request.args.get(name, "")
    if not raw.isdigit():
        return 1
    if len(raw) > _MAX_DIGITS or int(raw) > DB_INT_MAX:
        abort(404)
    return max(1, int(raw))


def _refuse_nul_characters():
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, description=NUL_MESSAGE)


def init_bounds(app: Flask) -> None:
    """Register the bounded ``int`` converter (before any route) and the NUL check."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_refuse_nul_characters)


# JSON --------------------------------------------------------------------------------------


class JsonProblem(ValueError):
    """Why a JSON body is refused: ``message`` for the client, ``field`` when one is to blame,
    ``status`` 400 (not readable JSON) or 422 (readable, but with characters we do not store)."""

    def __init__(self, kind: str, *, field: str | None = None, status: int = 400):
        super().__init__(kind)
        self.kind = kind
        self.field = field
        self.status = status


# Strings (with their escapes) taken out before counting brackets: the unrolled form runs in
# linear time even on a base64 attachment of megabytes.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
# Lone surrogates (which no encoding can store) and control characters other than tab and
# newlines (NUL first of all: PostgreSQL refuses it in text).
_FORBIDDEN = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _depth(text: str) -> int:
    depth = deepest = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                break
    return deepest


def _check_strings(value, path: str) -> None:
    if isinstance(value, str):
        if _FORBIDDEN.search(value):
            raise JsonProblem("character", field=path or None, status=422)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path)
            _check_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}[{index}]")


def load_json(raw: bytes):
    """Parse a JSON body within the bounds above, or raise ``JsonProblem``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonProblem("encoding") from error
    if _depth(text) > MAX_JSON_DEPTH:
        raise JsonProblem("depth")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise JsonProblem("syntax") from error
    _check_strings(value, "")
    return value
