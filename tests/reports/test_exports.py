"""The report as CSV and JSON Lines: parsed back with the standard readers, one row per point
(one per observation found not admissible), no personal data beyond what may be published,
marked as a draft until the round is concluded, streamed chunk by chunk."""

from __future__ import annotations

import csv
import io
import json

from app.decisions.models import Outcome
from app.reports import exports
from app.reports import rows as export_rows
from app.rounds.models import RoundState
from tests.fixtures.factories import login
from tests.reports.conftest import decide

REASONING = "Non compatibile col bilancio triennale."


def _get(client, scene, fmt):
    return client.get(f"/reports/rounds/{scene.round.id}/export.{fmt}")


def test_csv_parses_back_with_a_row_per_point(db, client, scene):
    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    login(client, scene.moderator)
    answer = _get(client, scene, "csv")
    assert answer.status_code == 200
    assert "bozza.csv" in answer.headers["Content-Disposition"]
    body = answer.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["protocol"] for r in rows] == [o.protocol_code for o in scene.observations]
    first, second, refused, undecided = rows
    assert (first["point"], first["outcome"], first["reasoning"]) == (
        scene.points[0].label,
        "not_accepted",
        REASONING,
    )
    assert first["organisation"] == "Comune di Rho" and first["zone"] == "Nord Ovest"
    assert first["groups"] == "Tavolo metropolitano" and first["section_number"]
    assert second["organisation_kind"] == "universita" and second["outcome"] == ""
    assert (refused["admissible"], refused["not_admissible_reason"]) == (
        "no",
        "Non riguarda il piano.",
    )
    assert refused["point"] == "" and undecided["outcome"] == ""
    assert {r["draft"] for r in rows} == {"yes"}
    text = body.decode("utf-8-sig")
    assert scene.referent.display_name not in text and scene.referent.email not in text
    assert "piste ciclabili" not in text  # the round does not publish its observations


def test_json_lines_parse_back_and_once_concluded_are_no_draft(db, client, scene):
    decide(scene.points[1], Outcome.NOT_RELEVANT, "Fuori tema.", scene.editor)
    scene.round.state = RoundState.CONCLUDED
    db.session.commit()
    answer = _get(client, scene, "jsonl")  # public now
    assert answer.status_code == 200
    assert "bozza" not in answer.headers["Content-Disposition"]
    records = [json.loads(line) for line in answer.get_data(as_text=True).splitlines()]
    assert len(records) == 4 and set(records[0]) == set(exports.COLUMNS)
    assert records[1]["outcome"] == "not_relevant" and records[1]["changes"] == []
    assert records[0]["groups"] == ["Tavolo metropolitano"]
    assert all(r["draft"] is False for r in records)


def test_who_may_download_a_draft(db, app, client, scene):
    for fmt in ("csv", "jsonl"):
        anonymous = _get(client, scene, fmt)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, scene.referent)
    assert _get(client, scene, "csv").status_code == 403
    assert client.get(f"/reports/rounds/{scene.round.id}/export.xlsx").status_code == 404


def test_chunk_by_chunk_the_rows_are_all_there_once(
    db, client, scene, monkeypatch, make_observation
):
    for i in range(5):
        make_observation(scene.round, scene.referent, body_html=f"<p>Altra {i}</p>")
    monkeypatch.setattr(export_rows, "CHUNK", 2)
    login(client, scene.moderator)
    rows = list(
        csv.DictReader(io.StringIO(_get(client, scene, "csv").get_data().decode("utf-8-sig")))
    )
    protocols = [r["protocol"] for r in rows]
    assert len(protocols) == 9 and len(set(protocols)) == 9
    assert protocols == sorted(protocols)


def test_concluding_tells_every_author_once_with_their_trace_links(db, scene, make_user):
    from sqlalchemy import select

    from app.accounts.models import Role
    from app.notifications.models import OutboxMessage
    from app.rounds import operations as rounds

    decide(scene.points[0], Outcome.NOT_ACCEPTED, REASONING, scene.editor)
    admin = make_user(Role.ADMIN)
    for action in ("close", "start_review"):
        rounds.change_state(db.session, scene.round, action, actor=admin)
    db.session.commit()
    before = set(db.session.scalars(select(OutboxMessage.id)))

    rounds.change_state(
        db.session, scene.round, "conclude", actor=admin, override_reason="Termine di legge."
    )
    db.session.commit()

    mails = [m for m in db.session.scalars(select(OutboxMessage)) if m.id not in before]
    assert sorted(m.recipient for m in mails) == ["poli@example.org", "rho@example.org"]
    rho = next(m for m in mails if m.recipient == "rho@example.org")
    for observation in (scene.observations[0], scene.observations[2]):
        assert observation.protocol_code in rho.body_text
        assert f"/decisions/trace/{observation.id}" in rho.body_text
    assert f"/reports/rounds/{scene.round.id}/" in rho.body_text


def test_ods_opens_with_an_ods_reader_and_is_for_staff(db, client, scene):
    from odf import teletype
    from odf.opendocument import load
    from odf.table import Table, TableCell, TableRow

    decide(scene.points[0], Outcome.NOT_ACCEPTED, "=1+1 non è una formula.", scene.editor)
    login(client, scene.referent)
    assert client.get(f"/reports/rounds/{scene.round.id}/export.ods").status_code == 403
    staff = client.application.test_client()
    login(staff, scene.moderator)
    answer = staff.get(f"/reports/rounds/{scene.round.id}/export.ods")
    assert answer.status_code == 200 and answer.mimetype.endswith("opendocument.spreadsheet")
    document = load(io.BytesIO(answer.get_data()))
    [sheet] = document.spreadsheet.getElementsByType(Table)
    rows = [
        [teletype.extractText(cell) for cell in row.getElementsByType(TableCell)]
        for row in sheet.getElementsByType(TableRow)
    ]
    assert rows[0] == list(exports.COLUMNS)
    first = dict(zip(exports.COLUMNS, rows[1], strict=False))
    assert first["protocol"] == scene.observations[0].protocol_code
    assert first["reasoning"] == "=1+1 non è una formula."
    assert len(rows) == 5
