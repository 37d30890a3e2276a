"""Editing a draft: positions stay dense, and no save overwrites another one unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.accounts.models import Role
from app.plans import operations
from app.plans.models import Paragraph
from app.plans.tree import load_tree
from tests.fixtures.factories import csrf_token
from tests.fixtures.plans import merge_as_seen


def _positions(db, section) -> list[int]:
    return list(
        db.session.scalars(
            select(Paragraph.position)
            .where(Paragraph.section_id == section.id)
            .order_by(Paragraph.position)
        )
    )


def test_a_paragraph_moved_to_another_section_goes_last_without_a_gap(db, make_version):
    version = make_version()
    tree = load_tree(db.session, version)
    first, second = tree.roots[0], tree.roots[1]
    moved = first.paragraphs[0]
    operations.move_paragraph(db.session, moved, to_section=second.section)
    db.session.commit()
    assert _positions(db, second.section) == [0, 1, 2]
    assert _positions(db, first.section) == [0]
    texts = [p.text for p in load_tree(db.session, version).roots[1].paragraphs]
    assert texts[-1] == moved.text


# Optimistic locking ----------------------------------------------------------------------------


def _saved_elsewhere(db, paragraph) -> None:
    """Another request saves the paragraph after this session loaded it (the session keeps the
    old lock version in memory)."""
    table = Paragraph.__table__
    with db.engine.begin() as other:
        other.execute(
            update(table)
            .where(table.c.id == paragraph.id)
            .values(lock_version=table.c.lock_version + 1, text="Salvato da altri.")
        )


def test_a_save_that_does_not_say_what_it_started_from_is_a_conflict(db, make_version):
    version = make_version()
    paragraph = next(load_tree(db.session, version).paragraphs())[1]
    section = paragraph.section
    with pytest.raises(operations.ConflictError, match="Non possiamo sapere"):
        operations.update_paragraph(db.session, paragraph, html="Nuovo.", seen_lock=None)
    with pytest.raises(operations.ConflictError):
        operations.split_paragraph(db.session, paragraph, parts=["a", "b"], seen_lock=None)
    with pytest.raises(operations.ConflictError):
        operations.update_section(
            db.session, section, number="9", title="Nuovo", policy_area=None, seen_lock=None
        )
    db.session.rollback()
    assert paragraph.text == "Semplificare procedure e accesso ai servizi."


@pytest.mark.parametrize(
    "operation",
    [
        lambda db, p: operations.update_paragraph(db.session, p, html="Mio.", seen_lock=1),
        lambda db, p: operations.split_paragraph(db.session, p, parts=["a", "b"], seen_lock=1),
        lambda db, p: merge_as_seen(db.session, p),
        lambda db, p: operations.delete_paragraph(db.session, p),
        lambda db, p: operations.move_paragraph(db.session, p, offset=1),
    ],
    ids=["edit", "split", "merge", "delete", "move"],
)
def test_a_save_meeting_a_newer_one_at_the_database_is_a_conflict(db, make_version, operation):
    version = make_version()
    paragraph = next(load_tree(db.session, version).paragraphs())[1]
    _saved_elsewhere(db, paragraph)
    with pytest.raises(operations.ConflictError):
        operation(db, paragraph)
    db.session.rollback()
    assert _positions(db, paragraph.section) == [0, 1]
    assert paragraph.text == "Salvato da altri."  # nothing of ours was kept


def test_merge_refuses_when_another_paragraph_now_follows(db, make_version):
    version = make_version()
    first, second = load_tree(db.session, version).roots[0].paragraphs
    operations.add_paragraph(db.session, first.section, html="Inserito.", after=first)
    db.session.commit()
    with pytest.raises(operations.ConflictError, match="sono cambiati"):
        operations.merge_with_next(
            db.session,
            first,
            seen_lock=first.lock_version,
            next_key=second.key,
            next_lock=second.lock_version,
        )
    with pytest.raises(operations.ConflictError):
        operations.merge_with_next(
            db.session, first, seen_lock=first.lock_version, next_key=None, next_lock=None
        )


# Through the pages ---------------------------------------------------------------------------


@pytest.fixture
def editor(logged_in):
    client, _user = logged_in(Role.EDITOR)
    return client


@pytest.mark.parametrize(
    "lock", [None, "", "x", "1.5", "0"], ids=["missing", "empty", "word", "float", "stale"]
)
def test_a_paragraph_form_without_a_valid_lock_shows_the_conflict(db, editor, make_version, lock):
    version = make_version()
    paragraph = next(load_tree(db.session, version).paragraphs())[1]
    url = f"/plans/{version.plan.slug}/v1/edit/p/{paragraph.key}"
    data = {"csrf_token": csrf_token(editor, url), "html": "Il mio testo."}
    if lock is not None:
        data["lock_version"] = lock
    response = editor.post(url, data=data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Il mio testo." in page  # their text back
    assert "Semplificare procedure e accesso ai servizi." in page  # beside the saved one
    assert 'name="lock_version" type="hidden" value="1"' in page
    db.session.expire_all()
    assert db.session.get(Paragraph, paragraph.id).text.startswith("Semplificare")
    # saving again from the conflict page, knowing the current text, goes through
    data["lock_version"] = "1"
    assert editor.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Paragraph, paragraph.id).text == "Il mio testo."


def test_a_stale_editor_without_a_lock_does_not_overwrite_a_newer_save(db, editor, make_version):
    version = make_version()
    paragraph = next(load_tree(db.session, version).paragraphs())[1]
    url = f"/plans/{version.plan.slug}/v1/edit/p/{paragraph.key}"
    token = csrf_token(editor, url)
    assert editor.post(url, data={"csrf_token": token, "html": "Uno.", "lock_version": "1"})
    assert editor.post(url, data={"csrf_token": token, "html": "Due."}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Paragraph, paragraph.id).text == "Uno."


def test_section_and_split_forms_without_a_lock_are_conflicts(db, editor, make_version):
    version = make_version()
    node = load_tree(db.session, version).roots[0]
    base = f"/plans/{version.plan.slug}/v1/edit"
    token = csrf_token(editor, f"{base}/s/{node.section.key}")
    response = editor.post(
        f"{base}/s/{node.section.key}", data={"csrf_token": token, "number": "1", "title": "X"}
    )
    assert response.status_code == 409
    key = node.paragraphs[0].key
    response = editor.post(
        f"{base}/p/{key}/split", data={"csrf_token": token, "html": "Uno\n---\nDue"}
    )
    assert response.status_code == 409
    assert "Semplificare procedure" in response.get_data(as_text=True)
    db.session.expire_all()
    tree = load_tree(db.session, version)
    assert tree.roots[0].section.title == "Agile e performante"
    assert tree.paragraph_count == 5


def test_a_merge_from_a_stale_page_is_refused_with_a_message(db, editor, make_version):
    version = make_version()
    first, second = load_tree(db.session, version).roots[0].paragraphs
    url = f"/plans/{version.plan.slug}/v1/edit/p/{first.key}/action"
    token = csrf_token(editor, f"/plans/{version.plan.slug}/v1/edit/s/{first.section.key}")
    stale = {
        "csrf_token": token,
        "action": "merge",
        "lock_version": "1",
        "next": second.key,
        "next_lock": "1",
    }
    operations.update_paragraph(db.session, second, html="Cambiato.", seen_lock=1)
    db.session.commit()
    response = editor.post(url, data=stale, follow_redirects=True)
    assert "Qualcun altro" in response.get_data(as_text=True)
    assert editor.post(url, data={**stale, "next_lock": ""}).status_code == 302
    db.session.expire_all()
    assert load_tree(db.session, version).paragraph_count == 5


def test_sections_are_added_through_the_pages_without_a_lock(db, editor, make_version):
    version = make_version()
    parent = load_tree(db.session, version).roots[0].section
    url = f"/plans/{version.plan.slug}/v1/edit/sections"
    token = csrf_token(editor, f"/plans/{version.plan.slug}/v1/edit")
    for data in ({"title": "Attrattiva", "number": "3"}, {"title": "Sotto", "parent": parent.key}):
        response = editor.post(url, data={"csrf_token": token, "policy_area": "", **data})
        assert response.status_code == 302
        assert "/edit/s/" in response.headers["Location"]
    db.session.expire_all()
    titles = [node.section.title for node in load_tree(db.session, version).walk()]
    assert "Attrattiva" in titles and "Sotto" in titles
