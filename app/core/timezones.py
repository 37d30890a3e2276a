"""Times are stored in UTC and shown, and typed, in the body's time zone (Europe/Rome)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_to_utc(value: datetime | None) -> datetime | None:
    """A naive local time (as typed in a form) as an aware UTC time."""
    if value is None:
        return None
    return value.replace(tzinfo=local_zone()).astimezone(UTC)


def utc_to_local(value: datetime | None) -> datetime | None:
    """An aware time as a naive local one, to fill a form field."""
    if value is None:
        return None
    return value.astimezone(local_zone()).replace(tzinfo=None)
