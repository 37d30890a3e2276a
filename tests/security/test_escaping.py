"""Finding 1 of issue 11: translated messages with user data interpolated are escaped in pages.

flask-babel's ``LazyString.__html__`` returns its raw text, so Jinja printed CSV cells and zone
names inside lazy messages as markup. Our ``lazy_gettext`` (``app.core.i18n``) escapes the
interpolated values when a message is rendered as HTML, and stays plain text elsewhere (JSON,
the command line, e-mail text).
"""

from __future__ import annotations

import io
import pathlib
import re

import pytest
from markupsafe import escape

from app.core.i18n import lazy_gettext
from tests.fixtures.factories import csrf_token
from tests.fixtures.hostile import XSS_PAYLOADS, raw_markup_in

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_a_lazy_message_escapes_its_values_as_html_and_keeps_them_as_text(app, payload):
    with app.test_request_context():
        message = lazy_gettext("Unknown group “%(group)s”.", group=payload)
        assert str(message) == f"Tavolo sconosciuto: “{payload}”."
        assert message.__html__() == f"Tavolo sconosciuto: “{escape(payload)}”."
        nested = lazy_gettext("%(field)s is not a valid address.", field=message)
        assert payload not in nested.__html__() and str(escape(payload)) in nested.__html__()
        count = lazy_gettext("The name is longer than %(n)d characters.", n=300)
        assert count.__html__() == str(count) == "Il nome supera i 300 caratteri."


def test_no_module_uses_flask_babels_unescaped_lazy_strings():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if re.search(r"from flask_babel import[^\n]*lazy_(n|p)?gettext", path.read_text())
    ]
    assert offenders == []


def _upload(client, path, content: bytes):
    token = csrf_token(client, path)
    return client.post(
        path,
        data={"csrf_token": token, "file": (io.BytesIO(content), "file.csv")},
        content_type="multipart/form-data",
    )


def test_markup_in_an_organisations_csv_comes_back_escaped(staff_client):
    client, _ = staff_client
    rows = "".join(f"Ente {i};comune;;;{payload}\n" for i, payload in enumerate(XSS_PAYLOADS))
    raw = f"name;kind;istat_code;zone;pec\n{rows}".encode()
    response = _upload(client, "/registry/import/organisations", raw)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert raw_markup_in(page) == []
    assert str(escape(XSS_PAYLOADS[0])) in page


def test_a_zone_named_with_markup_is_escaped_in_the_known_zones_list(staff_client, make_zone):
    client, _ = staff_client
    make_zone(XSS_PAYLOADS[2])
    response = _upload(client, "/registry/import/zones", b"codice_istat;zona\n015182;Brianza\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Zona sconosciuta" in page
    assert raw_markup_in(page) == []
    assert str(escape(XSS_PAYLOADS[2])) in page
