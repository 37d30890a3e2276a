"""One way to write a date, a date and time, and a file size in each language, everywhere:
pages, e-mails and exports use these (as the Jinja filters ``when``, ``day`` and ``size``).

Times are shown in Italian time (``BABEL_DEFAULT_TIMEZONE``); stored values are UTC."""

from __future__ import annotations

from babel.units import format_unit
from flask_babel import format_date, format_datetime, get_locale

#: The date-and-time pattern of each language (CLDR syntax); others use the first.
DATETIME_PATTERNS = {"it": "d MMMM y, HH:mm", "en": "d MMMM y, HH:mm"}
DATE_PATTERNS = {"it": "d MMMM y", "en": "d MMMM y"}
SIZE_UNITS = (
    (1024**3, "digital-gigabyte"),
    (1024**2, "digital-megabyte"),
    (1024, "digital-kilobyte"),
)


def _language() -> str:
    locale = get_locale()
    language = locale.language if locale else "it"
    return language if language in DATETIME_PATTERNS else "it"


def format_when(value) -> str:
    """A moment, e.g. "24 novembre 2026, 21:18" / "24 November 2026, 21:18"."""
    if value is None:
        return ""
    return format_datetime(value, DATETIME_PATTERNS[_language()])


def format_day(value) -> str:
    """A day, e.g. "24 novembre 2026" / "24 November 2026"."""
    if value is None:
        return ""
    return format_date(value, DATE_PATTERNS[_language()])


def format_size(size: int) -> str:
    """A file size in the language's words: "622 byte", "1,2 MB" / "1.2 MB"."""
    locale = get_locale() or "it"
    for factor, unit in SIZE_UNITS:
        if size >= factor:
            return format_unit(round(size / factor, 1), unit, length="short", locale=locale)
    return format_unit(size, "digital-byte", length="short", locale=locale)


def init_formats(app) -> None:
    app.jinja_env.filters.update(when=format_when, day=format_day, size=format_size)
