from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def safe_next_url(target: str | None) -> str | None:
    """Return ``target`` only if it is a path on this site (no open redirects, no control
    characters)."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None  # CR/LF would split the Location header; other controls mean nothing here
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def absolute_url(endpoint: str, **values) -> str:
    """A full URL on TRACCIA_BASE_URL, for e-mails: works inside and outside a request."""
    base = current_app.config["TRACCIA_BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return base + adapter.build(endpoint, values)
