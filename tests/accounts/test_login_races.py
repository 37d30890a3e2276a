"""Finding 3 of issue 11: the login throttle counts and records in one atomic step.

It used to count the failures, check the password, then record the failure: 40 simultaneous
wrong passwords for one address had 18 checked against a limit of 5. Here threads hit the real
database (SQLite or PostgreSQL, as the suite runs) at once.
"""

from __future__ import annotations

import threading

from app.accounts import operations
from app.extensions import db as _db


def _attempts_at_once(app, email: str, count: int):
    barrier = threading.Barrier(count)
    outcomes, errors = [], []

    def attempt():
        with app.app_context():
            try:
                barrier.wait()
                outcome = operations.authenticate(_db.session, email, "guess-guess-guess")
                _db.session.commit()
                outcomes.append(outcome)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, errors


def test_simultaneous_wrong_passwords_check_at_most_the_limit(app, db, make_user, monkeypatch):
    user = make_user()
    checked = []
    real_verify = operations.verify_password

    def counting_verify(stored, password):
        checked.append(password)
        return real_verify(stored, password)

    monkeypatch.setattr(operations, "verify_password", counting_verify)
    outcomes, errors = _attempts_at_once(app, user.email, 40)
    limit = app.config["LOGIN_THROTTLE_MAX_FAILURES"]
    assert errors == []
    assert len(outcomes) == 40
    assert len(checked) <= limit
    assert sum(outcome.throttled for outcome in outcomes) >= 40 - limit
    assert all(outcome.user is None for outcome in outcomes)
