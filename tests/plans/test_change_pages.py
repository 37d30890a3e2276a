"""The comparison and reading pages show the stored changes (their ids are the numbers), with
"Why did this change?" from a registered annotator and the editorial mark; marking editorial
through the page; its permissions; a bounded number of statements."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.plans import operations
from app.plans.changes import (
    Annotation,
    TextChange,
    register_change_annotator,
    unregister_change_annotator,
)
from app.plans.models import VersionStatus
from app.plans.tree import load_tree
from tests.fixtures.factories import csrf_token
from tests.fixtures.plans import generated_text
from tests.plans.test_pages import count_queries


@pytest.fixture
def edited(db, make_version, make_successor):
    base = make_version(status=VersionStatus.FROZEN)
    successor = make_successor(base)
    paragraph = next(load_tree(db.session, successor).paragraphs())[1]
    operations.update_paragraph(
        db.session, paragraph, html="Semplificare molto le procedure.", seen_lock=1
    )
    db.session.commit()
    change = db.session.scalar(select(TextChange).where(TextChange.version_id == successor.id))
    return base, successor, change


@pytest.fixture
def annotator():
    seen = []

    def reasons(session, change_ids):
        seen.append(list(change_ids))
        return {i: [Annotation("PSM-0001 punto 2", "accolta", "/trace/1")] for i in change_ids}

    register_change_annotator(reasons)
    yield seen
    unregister_change_annotator(reasons)


def test_the_comparison_page_numbers_changes_with_their_stored_ids(
    db, logged_in, edited, annotator
):
    base, _successor, change = edited
    client, _user = logged_in(Role.EDITOR)  # the successor is a draft: staff read it
    page = client.get(f"/plans/{base.plan.slug}/diff?old=1&new=2").get_data(as_text=True)
    assert f'id="change-{change.id}"' in page
    assert f"Modifica n. {change.id}" in page
    assert "Perché è cambiato?" in page
    assert 'href="/trace/1"' in page and "PSM-0001 punto 2" in page and "accolta" in page
    assert annotator == [[change.id]]
    # the successor's reading page shows the same reason under the changed paragraph
    page = client.get(f"/plans/{base.plan.slug}/v2/").get_data(as_text=True)
    assert "Perché è cambiato?" in page and "PSM-0001 punto 2" in page
    assert f"#change-{change.id}" in page


def test_versions_further_apart_have_no_stable_numbers(db, logged_in, edited, make_successor):
    base, successor, _change = edited
    client, _user = logged_in(Role.EDITOR)
    operations.freeze_version(db.session, successor)
    db.session.commit()
    make_successor(successor)
    page = client.get(f"/plans/{base.plan.slug}/diff?old=1&new=3").get_data(as_text=True)
    assert "non hanno numeri stabili" in page
    assert not re.search(r'id="change-\d+"', page) and re.search(r'id="part-\d+"', page)


def test_an_editor_marks_a_change_editorial_with_a_note(db, logged_in, edited):
    base, _successor, change = edited
    client, user = logged_in(Role.EDITOR)
    url = f"/plans/{base.plan.slug}/v2/changes/{change.id}/editorial"
    token = csrf_token(client, f"/plans/{base.plan.slug}/diff?old=1&new=2")
    refused = client.post(url, data={"csrf_token": token, "note": "  "})
    assert refused.status_code == 302
    db.session.expire_all()
    assert not db.session.get(TextChange, change.id).editorial
    response = client.post(url, data={"csrf_token": token, "note": "Refuso corretto."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#change-{change.id}")
    db.session.expire_all()
    marked = db.session.get(TextChange, change.id)
    assert (marked.editorial, marked.editorial_note, marked.editorial_by_id) == (
        True,
        "Refuso corretto.",
        user.id,
    )
    page = client.get(f"/plans/{base.plan.slug}/diff?old=1&new=2").get_data(as_text=True)
    assert "redazionale" in page and "Refuso corretto." in page
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "plan.change_marked_editorial")
    ).one()
    assert entry.object_id == str(change.id)
    client.post(url, data={"csrf_token": token, "unmark": "1"})
    db.session.expire_all()
    assert not db.session.get(TextChange, change.id).editorial


def test_marking_editorial_is_for_editors_and_stays_possible_after_freezing(db, logged_in, edited):
    base, successor, change = edited
    url = f"/plans/{base.plan.slug}/v2/changes/{change.id}/editorial"
    other = f"/plans/{base.plan.slug}/v1/changes/{change.id}/editorial"  # another version's
    editor, _ = logged_in(Role.EDITOR)
    token = csrf_token(editor, f"/plans/{base.plan.slug}/")
    assert editor.post(other, data={"csrf_token": token, "note": "x"}).status_code == 404
    operations.freeze_version(db.session, successor)
    db.session.commit()
    assert editor.post(url, data={"csrf_token": token, "note": "Refuso."}).status_code == 302
    db.session.expire_all()
    assert db.session.get(TextChange, change.id).editorial


def test_the_comparison_page_takes_a_bounded_number_of_statements(
    db, logged_in, make_version, make_successor, annotator
):
    client, _user = logged_in(Role.EDITOR)
    counts = []
    for sections in (6, 60):
        base = make_version(text=generated_text(sections), status=VersionStatus.FROZEN)
        successor = make_successor(base)
        for paragraph in [p for _n, p in load_tree(db.session, successor).paragraphs()][::4]:
            operations.update_paragraph(
                db.session, paragraph, html=paragraph.text + " Nuovo.", seen_lock=1
            )
        db.session.commit()
        with count_queries() as statements:
            response = client.get(f"/plans/{base.plan.slug}/diff?old=1&new=2")
        assert response.status_code == 200
        counts.append(len(statements))
    # 14 of plans' own, and one for each annotator that reads the database (decisions': the
    # points whose published decisions link to the page's changes, in one query)
    assert counts[0] == counts[1] and counts[0] <= 15, counts


def test_a_moderator_cannot_mark_a_change_editorial(db, logged_in, edited):
    base, _successor, change = edited
    moderator, _ = logged_in(Role.MODERATOR)
    token = csrf_token(moderator, f"/plans/{base.plan.slug}/")
    url = f"/plans/{base.plan.slug}/v2/changes/{change.id}/editorial"
    assert moderator.post(url, data={"csrf_token": token, "note": "x"}).status_code == 403
    db.session.expire_all()
    assert not db.session.get(TextChange, change.id).editorial


# The reading page of the successor: removed paragraphs and section changes ----------------


def _reshape(db, make_version, make_successor, sections: int):
    """A successor that removes a paragraph in the middle of the first section and the first
    paragraph of the second top-level one (renamed), adds a subsection under the first and
    removes its second subsection (with its paragraphs); and edits every fourth paragraph
    of the rest (more changes as the plan grows)."""
    base = make_version(text=generated_text(sections), status=VersionStatus.FROZEN)
    successor = make_successor(base)
    tree = load_tree(db.session, successor)
    first, second = tree.roots[0], tree.roots[1]
    gone = first.children[1]
    keys = {
        "kept": first.paragraphs[0].key,
        "after": first.paragraphs[2].key,
        "second": second.section.key,
        "second_first": second.paragraphs[1].key,
        "first": first.section.key,
    }
    for paragraph in [p for node in tree.roots[2:] for p in node.paragraphs][::4]:
        operations.update_paragraph(
            db.session, paragraph, html=paragraph.text + " Nuovo.", seen_lock=1
        )
    operations.delete_paragraph(db.session, first.paragraphs[1])
    operations.delete_paragraph(db.session, second.paragraphs[0])
    for paragraph in gone.paragraphs:
        operations.delete_paragraph(db.session, paragraph)
    operations.delete_section(db.session, gone.section)
    operations.update_section(
        db.session,
        second.section,
        number=second.section.number,
        title="Sezione rinominata",
        policy_area=None,
        seen_lock=second.section.lock_version,
    )
    operations.add_section(db.session, successor, parent=first.section, number="1.9", title="Nuova")
    db.session.commit()
    return base, successor, keys


def _change_of(db, successor, text: str) -> TextChange:
    """The removed-paragraph change that took the paragraph starting with ``text``."""
    from app.plans.changes import ChangeSide, TextChangeParagraph
    from app.plans.models import Paragraph

    return db.session.scalar(
        select(TextChange)
        .join(TextChangeParagraph, TextChangeParagraph.change_id == TextChange.id)
        .join(Paragraph, Paragraph.id == TextChangeParagraph.paragraph_id)
        .where(
            TextChange.version_id == successor.id,
            TextChangeParagraph.side == ChangeSide.OLD,
            Paragraph.text.startswith(text),
        )
    )


def test_the_reading_page_shows_removed_paragraphs_and_section_changes(
    db, logged_in, make_version, make_successor, annotator
):
    base, successor, keys = _reshape(db, make_version, make_successor, 6)
    middle = _change_of(db, successor, "Paragrafo 0.1:")
    operations.mark_editorial(db.session, middle, editorial=True, note="Ripetizione tolta.")
    db.session.commit()
    client, _user = logged_in(Role.EDITOR)
    page = client.get(f"/plans/{base.plan.slug}/v2/").get_data(as_text=True)
    diff = f"/plans/{base.plan.slug}/diff?old=1&amp;new=2"

    def at(text: str) -> int:
        assert text in page, text
        return page.index(text)

    # the paragraph removed in the middle: between its old neighbours, folded, with its
    # change number (a link to the comparison) and the editor's note
    marker = at(f'id="removed-{middle.id}"')
    assert at(f'id="p-{keys["kept"]}"') < marker < at(f'id="p-{keys["after"]}"')
    block = page[marker : at(f'id="p-{keys["after"]}"')]
    assert "<details>" in block and "Paragrafo rimosso" in block and "Paragrafo 0.1:" in block
    assert f'href="{diff}#change-{middle.id}"' in block and f"Modifica n. {middle.id}" in block
    assert "redazionale" in block and "Ripetizione tolta." in block
    # the first paragraph of the renamed section: at the top of that section, with the
    # points that motivated it
    opening = _change_of(db, successor, "Paragrafo 3.0:")
    marker = at(f'id="removed-{opening.id}"')
    assert at(f'id="s-{keys["second"]}"') < marker < at(f'id="p-{keys["second_first"]}"')
    assert "PSM-0001 punto 2" in page[marker : at(f'id="p-{keys["second_first"]}"')]
    # the renamed section says what it was called; the new subsection says it is new
    heading = page[at(f'id="s-{keys["second"]}"') : marker]
    assert "rinominata" in heading and "In precedenza: 2 Sezione 3" in heading
    assert "Perché è cambiato?" in heading
    assert "nuova sezione" in page[at("</span> Nuova</h") :][:600]
    # the removed subsection: at the end of its parent, with the paragraphs it took
    removed = at("sezione eliminata")
    assert at("1.2 Sezione 2") > removed and removed < at(f'id="s-{keys["second"]}"')
    assert "3 paragrafi rimossi" not in page  # each paragraph was its own change
    assert page.count("Paragrafo 2.") == 3 and removed < page.index("Paragrafo 2.0:")


def test_the_reading_page_takes_a_bounded_number_of_statements(
    db, logged_in, make_version, make_successor, annotator
):
    client, _user = logged_in(Role.EDITOR)
    counts = []
    for sections in (6, 24):  # 18 and 72 paragraphs: both read on one page
        base, _successor, keys = _reshape(db, make_version, make_successor, sections)
        seen = {}
        for name, url in (("whole", "v2/"), ("section", f"v2/s/{keys['first']}")):
            with count_queries() as statements:
                response = client.get(f"/plans/{base.plan.slug}/{url}")
            assert response.status_code == 200
            assert "Paragrafo rimosso" in response.get_data(as_text=True)
            seen[name] = len(statements)
        counts.append(seen)
    # the tree, the changes and their paragraphs, the removed paragraphs, the sections they
    # and the section changes concern (before and now), the neighbours of the removed
    # paragraphs, and the annotator's one query
    assert counts[0] == counts[1] and max(counts[0].values()) <= 15, counts


def test_a_section_page_reads_the_reasons_of_its_own_changes_only(
    db, logged_in, make_version, make_successor, annotator
):
    client, _user = logged_in(Role.EDITOR)
    base = make_version(text=generated_text(12), status=VersionStatus.FROZEN)
    successor = make_successor(base)
    tree = load_tree(db.session, successor)
    first, second = tree.roots[0], tree.roots[1]
    for root in (first, second):
        paragraph = next(p for node in root.walk() for p in node.paragraphs)
        operations.update_paragraph(
            db.session, paragraph, html=paragraph.text + " Nuovo.", seen_lock=1
        )
    db.session.commit()
    changes = db.session.scalars(
        select(TextChange).where(TextChange.version_id == successor.id).order_by(TextChange.id)
    ).all()
    assert len(changes) == 2
    annotator.clear()
    page = client.get(f"/plans/{base.plan.slug}/v2/s/{second.section.key}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"#change-{changes[1].id}" in text and f"#change-{changes[0].id}" not in text
    # the reasons of the other section's change are not read (whatever their number)
    assert annotator == [[changes[1].id]]
