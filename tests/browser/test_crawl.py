"""Every page a user can reach by following links, for every demo role and anonymously: at a
phone's 320 x 640 CSS pixels it fits without horizontal scrolling (WCAG 1.4.10 reflow), axe
finds no WCAG 2.1 AA violation, and the ☰ menu opens on screen."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.demo import DEMO_LOGINS
from tests.fixtures.axe import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _on_postgresql(request):
    """The crawl (about four minutes) runs on PostgreSQL, the production database, and not
    again on SQLite: layout, reflow and axe do not depend on the database, and the other
    browser tests and every page's own tests run on both."""
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("the crawl runs on PostgreSQL (make test runs both)")


#: Pages per role: enough to reach every kind of page of the demo, bounded for two cores.
MAX_PAGES = 45
#: Links a crawl must not follow: they change state, download, or leave the page's kind.
SKIP = ("/logout", "/attachments/", "/export", ".csv", ".pdf", ".docx", "/api/v1/", "/openapi")


def _key(path: str) -> str:
    """Pages that differ only by an id are one kind of page: visit a few of each kind."""
    parts = ["<id>" if part.isdigit() else part for part in path.split("/")]
    return "/".join(parts)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        url = urlsplit(href)
        if f"{url.scheme}://{url.netloc}" != origin or any(s in url.path for s in SKIP):
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


def _assert_fits(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width} CSS px wide at a 320 px viewport"


def _open_menu_on_screen(page) -> None:
    page.get_by_role("button", name="Mostra o nascondi la navigazione").click()
    first = page.locator("#main-menu .nav-link").first
    first.wait_for(state="visible")
    page.wait_for_timeout(400)  # the menu slides in
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320, box
    page.keyboard.press("Escape")


def _crawl(page, origin: str) -> list[str]:
    queue, seen_kinds, visited = ["/"], {}, []
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        kind = _key(path.split("?")[0])
        if seen_kinds.get(kind, 0) >= 2 or path in visited:
            continue
        seen_kinds[kind] = seen_kinds.get(kind, 0) + 1
        response = page.goto(path)
        visited.append(path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        _assert_fits(page)
        assert_accessible(page)
        queue.extend(link for link in _links(page, origin) if link not in visited)
    return visited


@pytest.fixture
def phone(browser, live_server, demo_data):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 320, "height": 640}, locale="it-IT"
    )
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_anonymous_pages_fit_a_phone(phone, live_server):
    visited = _crawl(phone, live_server.url)
    assert "/login" in visited and "/track" in visited
    phone.goto("/")
    _open_menu_on_screen(phone)


@pytest.mark.parametrize("login", DEMO_LOGINS, ids=lambda login: login.email.split("@")[0])
def test_every_role_s_pages_fit_a_phone(phone, live_server, login):
    phone.goto("/login")
    phone.get_by_label("Indirizzo e-mail").fill(login.email)
    phone.get_by_label("Password").fill(login.password)
    phone.get_by_role("button", name="Accedi").click()
    phone.wait_for_url("**/")
    visited = _crawl(phone, live_server.url)
    assert len(visited) > 5, visited
    phone.goto("/")
    _open_menu_on_screen(phone)
