"""The key pages ``make bench`` measures, per domain, as paths built from the seed's manifest.

A later domain adds its pages here (and its data in ``bench/dataset``): moderation's queue,
filtered and searched; the author trace page; the report's first page; the coverage page; each
export (with its peak memory); the comparison page. ``tests/bench/test_dataset.py`` requests
every page listed here on freshly seeded data, so a page that stops answering as expected fails
a test, not a benchmark run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    domain: str
    name: str
    path: Callable[[dict], str]
    #: The manifest key of the e-mail to log in as; None: anonymous (the API uses its token).
    user: str | None
    #: get, form (POST of the new-observation form, submitting) or api (POST JSON).
    kind: str = "get"
    expect: int = 200


def _round(m: dict) -> str:
    return f"/rounds/{m['round_id']}"


def _version(m: dict) -> str:
    return f"/plans/{m['plan_slug']}/v{m['consulted_number']}"


PAGES: list[Page] = [
    Page("core", "login page", lambda m: "/login", None),
    Page("observations", "track form", lambda m: "/track", None),
    Page("core", "home (logged in)", lambda m: "/", "referent_email"),
    Page("plans", "plan reading page", lambda m: f"{_version(m)}/", "referent_email"),
    Page(
        "plans",
        "section reading",
        lambda m: f"{_version(m)}/s/{m['reading_section_key']}",
        "referent_email",
    ),
    Page("rounds", "round page with counts", lambda m: f"{_round(m)}/", "referent_email"),
    Page(
        "rounds",
        "section page with counts",
        lambda m: f"{_round(m)}/s/{m['round_section_key']}",
        "referent_email",
    ),
    Page("observations", "my observations", lambda m: "/observations/mine", "referent_email"),
    Page(
        "observations",
        "observation, staff page",
        lambda m: f"/observations/{m['staff_observation_id']}/",
        "moderator_email",
    ),
    Page(
        "observations",
        "receipt",
        lambda m: f"/observations/{m['receipt_observation_id']}/",
        "referent_email",
    ),
    Page(
        "observations",
        "form submission (POST)",
        lambda m: f"{_round(m)}/observations/new",
        "form_user_email",
        kind="form",
        expect=302,
    ),
    Page(
        "api",
        "API submission (POST)",
        lambda m: f"/api/v1/rounds/{m['round_id']}/observations",
        None,
        kind="api",
        expect=201,
    ),
    Page(
        "decisions",
        "coverage",
        lambda m: f"/decisions/rounds/{m['round_id']}/coverage",
        "moderator_email",
    ),
    Page(
        "decisions",
        "response section, why it changed",
        lambda m: f"/plans/{m['plan_slug']}/v{m['response_number']}/s/{m['response_section_key']}",
        "editor_email",
    ),
    Page(
        "decisions",
        "comparison consulted → response",
        lambda m: (
            f"/plans/{m['plan_slug']}/diff?old={m['consulted_number']}&new={m['response_number']}"
        ),
        "editor_email",
    ),
    Page(
        "decisions",
        "author trace page",
        lambda m: f"/decisions/trace/{m['trace_observation_id']}",
        "trace_author_email",
    ),
    # moderation: Page("moderation", "queue, filtered", ...), Page(..., "queue, searched", ...)
    # reports: the report's first page, exports
]


def form_fields(csrf: str, unique: str) -> dict[str, str]:
    """The new-observation form, filled and submitted (the same fields as bench/wrk.lua)."""
    return {
        "csrf_token": csrf,
        "form_token": unique,
        "kind": "observation",
        "title": f"Osservazione {unique}",
        "body": "Testo dell'osservazione inviata dal banco di prova.",
        "action": "submit",
    }


def api_body(unique: str) -> dict[str, str]:
    return {"title": f"Osservazione {unique}", "text": "<p>Testo inviato dal protocollo.</p>"}
