"""The audit trail is a hash chain: gap-free numbers in commit order, each entry hashing the one
before; the database refuses changes; ``flask audit verify`` finds the first broken link."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from app.core import audit
from app.core.audit import GENESIS, AuditChainHead, AuditEntry, record


def _entries(db) -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()


def _write(db, count: int, *, action: str = "test.step") -> None:
    for number in range(count):
        record(db.session, action, object_type="test", object_id=number, step=number)
    db.session.commit()


def test_entries_are_numbered_and_each_hashes_the_one_before(db):
    _write(db, 3)
    record(db.session, "test.later", object_type="test", object_id="x", code="PSM2019-0042")
    db.session.commit()
    entries = _entries(db)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    last = entries[-1]
    canonical = (
        '{"action":"test.later","actor":null,"at":"'
        + last.occurred_at.isoformat(timespec="microseconds")
        + '","details":{"code":"PSM2019-0042"},"object_id":"x","object_type":"test",'
        + f'"prev":"{entries[2].hash}","seq":4}}'
    )
    assert last.hash == hashlib.sha256(canonical.encode()).hexdigest()
    head = db.session.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (4, last.hash)
    assert audit.verify(db.session).ok


def test_a_rolled_back_transaction_gives_its_numbers_back(db):
    _write(db, 2)
    record(db.session, "test.undone", object_type="test")
    db.session.flush()
    db.session.rollback()
    _write(db, 1, action="test.kept")
    entries = _entries(db)
    assert [(e.seq, e.action) for e in entries] == [
        (1, "test.step"),
        (2, "test.step"),
        (3, "test.kept"),
    ]
    assert audit.verify(db.session).ok


@pytest.mark.parametrize(
    "details",
    [
        {"email": "mario.rossi@example.org"},
        {"name": "Mario Rossi"},
        {"reason": "Non sono più d'accordo con quanto scritto"},
        {"changes": {"title": ["Vecchio titolo", "Nuovo titolo"]}},
        {"who": object()},
    ],
    ids=["e-mail", "name", "free text", "nested text", "not JSON"],
)
def test_details_hold_only_ids_and_codes(db, details):
    with pytest.raises(ValueError):
        record(db.session, "test.personal", **details)
    record(
        db.session,
        "test.fine",
        organisation_id=3,
        protocol="PSM2019-0042",
        late=False,
        digest="ab" * 32,
        roles=["admin", "editor"],
        values={"closes_at": ["2026-12-01T10:00:00+00:00", None]},
    )
    db.session.commit()
    assert audit.verify(db.session).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'test.rewritten'",
        "DELETE FROM audit_entries",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_changes_below_the_orm(db, statement):
    _write(db, 2)
    with db.engine.connect() as connection, pytest.raises(DatabaseError):
        connection.execute(text(statement))
    assert [e.action for e in _entries(db)] == ["test.step", "test.step"]


def test_postgresql_refuses_truncate(db, request):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    _write(db, 1)
    with db.engine.connect() as connection, pytest.raises(DatabaseError):
        connection.execute(text("TRUNCATE audit_entries CASCADE"))
    assert len(_entries(db)) == 1


def test_the_client_address_is_kept_beside_the_chain_and_can_be_forgotten(db, client):
    from datetime import timedelta

    from app.core.db import utcnow
    from tests.fixtures.factories import csrf_token

    client.post(
        "/login",
        data={
            "email": "a@example.org",
            "password": "x",
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    record(db.session, "test.no_request")
    db.session.commit()
    failed, outside = _entries(db)
    assert failed.action == "auth.login_failed" and failed.address.ip_address == "127.0.0.1"
    assert (
        "127.0.0.1"
        not in audit.canonical_entry(
            seq=failed.seq,
            prev_hash=failed.prev_hash,
            occurred_at=failed.occurred_at,
            actor_id=failed.actor_id,
            action=failed.action,
            object_type=failed.object_type,
            object_id=failed.object_id,
            details=failed.details,
        ).decode()
    )
    assert outside.address is None  # outside a request there is none
    assert audit.forget_addresses(db.session, before=utcnow() - timedelta(days=1)) == 0
    assert audit.forget_addresses(db.session, before=utcnow() + timedelta(seconds=1)) == 1
    db.session.commit()
    assert _entries(db)[0].address is None
    assert audit.verify(db.session).ok  # forgetting an address breaks no link


# Concurrent writers on PostgreSQL ----------------------------------------------------------


def _postgresql_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer; the row lock is PostgreSQL's")


def test_a_second_writer_waits_for_the_first_and_follows_it(db):
    _postgresql_only(db)
    _write(db, 1)
    engine = db.engine  # (the threads have no application context)
    first = Session(engine)
    record(first, "test.first")
    first.flush()  # holds the chain's head
    done = threading.Event()

    def second_writer():
        with Session(engine) as second:
            record(second, "test.second")
            second.commit()
        done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.5)
    assert not done.is_set(), "the second writer did not wait for the chain's head"
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert done.is_set()
    entries = _entries(db)
    assert [(e.seq, e.action) for e in entries] == [
        (1, "test.step"),
        (2, "test.first"),
        (3, "test.second"),
    ]
    assert entries[2].prev_hash == entries[1].hash
    assert audit.verify(db.session).ok


def test_many_concurrent_writers_never_fork_the_chain(db):
    _postgresql_only(db)
    writers, each = 6, 5
    barrier = threading.Barrier(writers)
    failures = []
    engine = db.engine  # (the threads have no application context)

    def writer(number):
        try:
            barrier.wait()
            for step in range(each):
                with Session(engine) as session:
                    record(session, "test.concurrent", writer=number, step=step)
                    record(session, "test.concurrent_pair", writer=number, step=step)
                    session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    entries = _entries(db)
    assert [e.seq for e in entries] == list(range(1, writers * each * 2 + 1))
    assert len({e.prev_hash for e in entries}) == len(entries)  # no two follow the same entry
    # the two entries of one transaction are neighbours: nobody committed between them
    for entry in entries:
        if entry.action == "test.concurrent":
            pair = entries[entry.seq]
            assert pair.action == "test.concurrent_pair" and pair.details == entry.details
    assert audit.verify(db.session).ok
    assert db.session.scalar(select(func.count(AuditEntry.id))) == writers * each * 2


# flask audit verify ------------------------------------------------------------------------


@contextmanager
def _triggers_dropped(db):
    """Drop the audit trail's triggers (as someone with raw access could), then put them back."""
    db.session.rollback()  # the test's own reads would hold DROP TRIGGER back on PostgreSQL
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            triggers = connection.execute(
                text(
                    "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                    "WHERE tgrelid = 'audit_entries'::regclass AND NOT tgisinternal"
                )
            ).all()
            drop = 'DROP TRIGGER "{}" ON audit_entries'
        else:
            triggers = connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
                )
            ).all()
            drop = 'DROP TRIGGER "{}"'
        assert triggers
        for name, _ in triggers:
            connection.execute(text(drop.format(name)))
        connection.commit()
        try:
            yield connection
            connection.commit()
        finally:
            connection.rollback()
            for _, definition in triggers:
                connection.execute(text(definition))
            connection.commit()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify", "--batch", "2"])


def test_verify_walks_an_intact_chain(app, db):
    _write(db, 5)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output


def test_an_empty_trail_verifies(app, db):
    assert _verify(app).exit_code == 0


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        ("UPDATE audit_entries SET details = '{\"step\": 9}' WHERE seq = 3", 3, "entry changed"),
        ("UPDATE audit_entries SET actor_id = NULL, action = 'x.y' WHERE seq = 3", 3, "changed"),
        ("DELETE FROM audit_entries WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_entries WHERE seq >= 4", 4, "missing"),
        ("UPDATE audit_entries SET seq = seq + 10 WHERE seq = 5", 5, "missing"),
    ],
    ids=["details edited", "action edited", "entry deleted", "tail deleted", "renumbered"],
)
def test_verify_reports_the_first_broken_link(app, db, tamper, seq, reason):
    _write(db, 5)
    with _triggers_dropped(db) as connection:
        connection.execute(text(tamper))
    result = _verify(app)
    assert result.exit_code == 1
    assert f"broken at entry {seq}: " in result.output and reason in result.output


def test_a_rewritten_entry_with_its_hash_recomputed_breaks_the_next_link(app, db):
    _write(db, 5)
    entry = _entries(db)[2]
    forged = {
        "seq": entry.seq,
        "prev_hash": entry.prev_hash,
        "occurred_at": entry.occurred_at,
        "actor_id": None,
        "action": "test.forged",
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
    }
    forged_hash = hashlib.sha256(audit.canonical_entry(**forged)).hexdigest()
    with _triggers_dropped(db) as connection:
        connection.execute(
            text("UPDATE audit_entries SET action = 'test.forged', hash = :h WHERE seq = 3"),
            {"h": forged_hash},
        )
    result = _verify(app)
    assert result.exit_code == 1
    assert "broken at entry 4: previous hash differs" in result.output


def test_rewriting_the_last_entry_and_its_hash_is_caught_by_the_head(app, db):
    _write(db, 3)
    entry = _entries(db)[-1]
    forged_hash = hashlib.sha256(
        audit.canonical_entry(
            seq=3,
            prev_hash=entry.prev_hash,
            occurred_at=entry.occurred_at,
            actor_id=None,
            action="test.forged",
            object_type=entry.object_type,
            object_id=entry.object_id,
            details=entry.details,
        )
    ).hexdigest()
    with _triggers_dropped(db) as connection:
        connection.execute(
            text("UPDATE audit_entries SET action = 'test.forged', hash = :h WHERE seq = 3"),
            {"h": forged_hash},
        )
    result = _verify(app)
    assert result.exit_code == 1 and "broken at entry 3: entry changed" in result.output
