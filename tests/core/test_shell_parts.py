"""The fixed parts of the page shell are rendered once per language, then served from memory;
what depends on the request (the language switch, the account, the navigation, the page) is
rendered every time."""

from __future__ import annotations

from contextlib import contextmanager

from flask import template_rendered

from tests.fixtures.factories import csrf_token


@contextmanager
def rendered(app):
    names: list[str] = []

    def record(_sender, template, context, **_extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def test_the_fixed_parts_are_rendered_once_then_served_from_memory(app, client):
    app.extensions.pop("traccia.shell_parts", None)  # as after a start (earlier tests filled it)
    with rendered(app) as first:
        page = client.get("/track").get_data(as_text=True)
    with rendered(app) as second:
        again = client.get("/track").get_data(as_text=True)

    assert {name for name in first if name.startswith("shell/")} >= {
        "shell/head.html",
        "shell/top.html",
        "shell/middle.html",
        "shell/footer_top.html",
        "shell/footer_end.html",
    }
    assert [name for name in second if name.startswith("shell/")] == []
    assert again == page
    for text in ("Vai al contenuto", "bootstrap-italia.min.css", "Dichiarazione di accessibilità"):
        assert text in again


def test_each_language_has_its_own_parts(client):
    client.get("/track")  # the Italian parts are in memory now
    token = csrf_token(client, "/track")
    client.post("/language", data={"lang": "en", "next": "/track", "csrf_token": token})

    page = client.get("/track").get_data(as_text=True)

    assert '<html lang="en">' in page
    assert "Skip to content" in page and "Vai al contenuto" not in page
    assert "Accessibility statement" in page


def test_a_changed_setting_is_shown_at_once(client, config):
    client.get("/track")
    config["TRACCIA_OWNER_NAME"] = "Città metropolitana di Bologna"

    page = client.get("/track").get_data(as_text=True)

    assert page.count("Città metropolitana di Bologna") >= 3  # title, header, footer
