"""One date-and-time format per language, and file sizes in the language's words, everywhere:
no template or module formats dates or sizes any other way."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import force_locale

from app.core.formats import format_day, format_size, format_when

ROOT = Path(__file__).resolve().parents[2]
MOMENT = datetime(2026, 11, 24, 20, 18, tzinfo=UTC)  # 21:18 in Rome


def test_one_format_per_language(app):
    with app.test_request_context():
        with force_locale("it"):
            assert format_when(MOMENT) == "24 novembre 2026, 21:18"
            assert format_day(MOMENT) == "24 novembre 2026"
            assert format_size(622) == "622 byte"
            assert format_size(1_300_000) == "1,2 MB"
        with force_locale("en"):
            assert format_when(MOMENT) == "24 November 2026, 21:18"
            assert format_day(MOMENT) == "24 November 2026"
            assert format_size(622) == "622 byte"
            assert format_size(2048) == "2 kB"


def test_nothing_formats_dates_or_sizes_another_way():
    banned = re.compile(
        r"datetimeformat|\|dateformat|timeformat\(|filesizeformat|format_datetime|format_date\b"
        r"|strftime"
    )
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("templates", "app")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".html", ".txt", ".py"}
        and path.name != "formats.py"
        and banned.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_pages_and_e_mails_use_it(db, scene, make_observation, smtp):
    from app.notifications.operations import deliver_due

    observation = make_observation(
        scene.round, scene.referent, files=[("nota.pdf", b"%PDF-1.4\n" + b"x" * 600)]
    )
    page = scene.client.get(f"/observations/{observation.id}/").get_data(as_text=True)
    assert "Bytes" not in page and "609 byte" in page
    assert re.search(r"\d{1,2} [a-z]+ \d{4}, \d{2}:\d{2}", page)
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{2}", page)  # no "12/1/26"
    from tests.observations.test_submit import _post_new

    _post_new(scene.client, scene.round.id)  # the web form sends the receipt by e-mail
    deliver_due(db.session)
    [mail] = smtp.inbox.to(scene.referent.email)
    text = smtp.inbox.text(mail)
    assert re.search(r"\d{1,2} [a-z]+ \d{4}, \d{2}:\d{2}", text), text
    assert not re.search(r"\d{2}:\d{2}:\d{2}", text)
