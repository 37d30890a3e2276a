"""Internal notes: staff only, never where the author, the public or the API can read them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.moderation import operations
from app.moderation.models import InternalNote, ModerationError
from app.observations import receipts
from tests.fixtures.factories import csrf_token, login

ALL_ROLES = (Role.ADMIN, Role.MODERATOR, Role.EDITOR, Role.STAKEHOLDER, Role.CITIZEN)
SECRET = "Nota riservata: telefonare al sindaco"


def test_a_note_is_added_and_audited_without_its_text(db, registered, moderator):
    [observation] = registered()
    note = operations.add_note(db.session, observation, author=moderator, body=f"  {SECRET} ")
    db.session.commit()
    assert note.body == SECRET
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "note.added"))
    assert entry.details == {"note_id": note.id} and SECRET not in str(entry.details)
    for body in ("", "   ", "x" * 5001):
        with pytest.raises(ModerationError):
            operations.add_note(db.session, observation, author=moderator, body=body)
        db.session.rollback()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_writes_and_reads_notes(db, client, registered, make_user, role):
    [observation] = registered()
    login(client, make_user(role))
    response = client.post(
        f"/moderation/observations/{observation.id}/notes",
        data={"csrf_token": csrf_token(client, "/track"), "body": SECRET},
    )
    allowed = role in (Role.ADMIN, Role.MODERATOR)
    assert response.status_code == (303 if allowed else 403)
    assert len(db.session.scalars(select(InternalNote)).all()) == (1 if allowed else 0)
    page = client.get(f"/moderation/observations/{observation.id}")
    assert (SECRET in page.get_data(as_text=True)) == allowed


def test_a_note_never_reaches_the_author_the_public_or_the_api(
    db, client, app, registered, moderator, make_user
):
    [observation] = registered()
    operations.add_note(db.session, observation, author=moderator, body=SECRET)
    db.session.commit()
    author = app.test_client()
    login(author, observation.author)
    assert SECRET not in author.get(f"/observations/{observation.id}/").get_data(as_text=True)
    assert SECRET not in author.get("/observations/mine").get_data(as_text=True)
    code = receipts.verification_code(observation.protocol_code)
    anyone = app.test_client()
    tracked = anyone.post(
        "/track",
        data={
            "csrf_token": csrf_token(anyone, "/track"),
            "protocol": observation.protocol_code,
            "code": code,
        },
    )
    assert tracked.status_code == 200 and SECRET not in tracked.get_data(as_text=True)
    from app.api import operations as api

    staff = make_user(Role.MODERATOR)
    _token, secret = api.create_token(db.session, user=staff, name="t", actor=staff)
    db.session.commit()
    answer = client.get(
        f"/api/v1/observations/{observation.protocol_code}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200 and SECRET not in answer.get_data(as_text=True)
