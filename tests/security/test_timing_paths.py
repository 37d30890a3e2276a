"""Finding 8 of issue 11: the forgot-password and /track answers took measurably longer when the
address had an account (17.0 vs 11.4 ms) or the protocol number existed (20 vs 14 ms).

Not a timing test (timings live in bench/): these tests record what each path does — the SQL
statements it runs (without their parameters), the templates it renders, the hashes it computes —
and require the same work whether the address or the number exists or not.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import flask
from sqlalchemy import event

from app.extensions import db as _db
from tests.fixtures.factories import csrf_token


@contextmanager
def recorded_work(app):
    """SELECT statements (parameters left out), templates rendered and hashes computed."""
    work = {"selects": [], "templates": [], "hashes": 0}

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            work["selects"].append(re.sub(r"\s+", " ", statement))

    def on_render(sender, template, context, **extra):
        work["templates"].append(template.name)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    flask.template_rendered.connect(on_render, app)
    import app.accounts.operations as accounts
    import app.observations.receipts as receipts

    real_token_hash, real_code_hash = accounts.hash_token, receipts.hash_code

    def counting(function):
        def wrapper(*args, **kwargs):
            work["hashes"] += 1
            return function(*args, **kwargs)

        return wrapper

    accounts.hash_token, receipts.hash_code = counting(real_token_hash), counting(real_code_hash)
    try:
        yield work
    finally:
        accounts.hash_token, receipts.hash_code = real_token_hash, real_code_hash
        flask.template_rendered.disconnect(on_render, app)
        event.remove(engine, "before_cursor_execute", on_execute)


def _forgot(app, client, email):
    token = csrf_token(client, "/password/forgot")
    with recorded_work(app) as work:
        response = client.post("/password/forgot", data={"email": email, "csrf_token": token})
    assert response.status_code == 302
    return work


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(app, make_user):
    known = make_user()
    inactive = make_user(active=False)
    client = app.test_client()
    for_known = _forgot(app, client, known.email)
    for_unknown = _forgot(app, client, "nobody@example.org")
    for_inactive = _forgot(app, client, inactive.email)
    assert "accounts/email/password_reset.html" in for_known["templates"]
    assert for_known == for_unknown == for_inactive


def _track(app, client, protocol, code):
    token = csrf_token(client, "/track")
    with recorded_work(app) as work:
        response = client.post(
            "/track", data={"protocol": protocol, "code": code, "csrf_token": token}
        )
    assert response.status_code == 404
    return work


def test_track_does_the_same_work_whether_the_protocol_exists_or_not(
    app, db, make_round, make_comune, make_referent, make_observation
):
    round_ = make_round()
    observation = make_observation(round_, make_referent(make_comune()))
    client = app.test_client()
    existing = _track(app, client, observation.protocol_code, "AAAAA-BBBBB")
    missing = _track(app, client, f"{round_.protocol_prefix}-9999", "AAAAA-BBBBB")
    assert existing == missing
    assert existing["hashes"] == 1
