from __future__ import annotations

from app.core.i18n_cli import catalogue_problems
from tests.fixtures.factories import csrf_token


def test_catalogues_have_no_untranslated_or_fuzzy_entries(app):
    problems = [p for locale in app.config["LANGUAGES"] for p in catalogue_problems(locale)]
    assert problems == []


def test_italian_is_the_default_language(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="it">' in page
    assert "Accedi" in page


def test_the_language_switch_keeps_the_page(client):
    token = csrf_token(client, "/password/forgot")
    response = client.post(
        "/language", data={"lang": "en", "next": "/password/forgot", "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/password/forgot"
    page = client.get("/password/forgot").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Forgot your password?" in page


def test_an_unknown_language_is_ignored(client):
    token = csrf_token(client, "/")
    client.post("/language", data={"lang": "xx", "next": "/", "csrf_token": token})
    assert '<html lang="it">' in client.get("/").get_data(as_text=True)
