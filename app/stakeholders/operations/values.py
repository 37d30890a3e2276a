"""The registry's refusal and how it reads the values people type: ISTAT codes, addresses."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from app.core.refusals import Refusal

ISTAT_CODE = re.compile(r"^\d{6}$")


class RegistryError(Refusal):
    """A refusal about the stakeholder registry."""


# Values ------------------------------------------------------------------------------------


def normalise_istat_code(value: str | None) -> str | None:
    """``15182`` (Excel drops the leading zero) and ``015182`` both give ``015182``."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit() and 4 <= len(value) < 6:
        value = value.zfill(6)
    return value


def email_address(value: str | None) -> str | None:
    """The address lower-cased if it is well formed, else None (no network look-up)."""
    value = (value or "").strip()
    if not value or len(value) > 254:
        return None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def website_address(value: str | None) -> str | None:
    """``www.comune.rho.mi.it`` → ``https://www.comune.rho.mi.it``; None if it is no address."""
    value = (value or "").strip()
    if not value:
        return None
    if not re.match(r"^https?://", value, re.IGNORECASE):
        value = "https://" + value
    if len(value) > 300 or not re.match(r"^https?://[^\s/.]+\.[^\s/]+(/\S*)?$", value, re.I):
        return None
    return value
