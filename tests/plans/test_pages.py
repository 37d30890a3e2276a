"""Reading, editing and diff pages: content, conflicts, refusals and a bounded number of queries."""

from __future__ import annotations

import contextlib
import re

from sqlalchemy import event, select

from app.accounts.models import Role
from app.core.audit import AuditEntry
from app.extensions import db as _db
from app.plans import operations
from app.plans.models import Paragraph, VersionStatus
from app.plans.tree import load_tree
from tests.fixtures.factories import csrf_token
from tests.fixtures.plans import generated_text


def merge_fields(page, key: str) -> dict[str, str]:
    """The hidden fields of the "merge with the next" button of paragraph ``key``."""
    html = page.get_data(as_text=True)
    forms = re.findall(
        r'<form method="post" action="[^"]*/p/([^/"]+)/action"[^>]*>(.*?)</form>', html, re.S
    )
    for form_key, body in forms:
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', body))
        if form_key == key and fields.get("action") == "merge":
            return fields
    raise AssertionError(f"no merge button for {key}")


def _first_paragraph(db, version):
    return next(load_tree(db.session, version).paragraphs())[1]


def test_reading_page_has_contents_text_and_permalinks(client, db, make_version):
    version = make_version(status=VersionStatus.FROZEN)
    paragraph = _first_paragraph(db, version)
    page = client.get(f"/plans/{version.plan.slug}/v1/").get_data(as_text=True)
    assert 'aria-label="Contents"' in page or 'aria-label="Indice"' in page
    assert f'id="p-{paragraph.key}"' in page and f'href="#p-{paragraph.key}"' in page
    assert "Semplificare procedure e accesso ai servizi." in page
    assert "plans.css" in page


def test_long_texts_are_read_one_top_level_section_per_page(client, db, make_version):
    version = make_version(text=generated_text(60), status=VersionStatus.FROZEN)
    slug = version.plan.slug
    tree = load_tree(db.session, version)
    page = client.get(f"/plans/{slug}/v1/").get_data(as_text=True)
    assert "Paragrafo 0.0" not in page  # only the contents
    second = tree.roots[1]
    page = client.get(f"/plans/{slug}/v1/s/{second.section.key}").get_data(as_text=True)
    assert "Paragrafo 3.0" in page and "Paragrafo 0.0" not in page and 'rel="prev"' in page
    sub = second.children[0]
    response = client.get(f"/plans/{slug}/v1/s/{sub.section.key}")
    assert response.headers["Location"].endswith(f"/s/{second.section.key}#s-{sub.section.key}")
    key = sub.paragraphs[0].key
    response = client.get(f"/plans/{slug}/v1/p/{key}")
    assert response.headers["Location"].endswith(f"/s/{second.section.key}#p-{key}")
    assert client.get(f"/plans/{slug}/v1/p/nokey").status_code == 404
    assert client.get(f"/plans/{slug}/v9/").status_code == 404


def test_editing_cleans_the_html(db, logged_in, make_version):
    client, _user = logged_in(Role.EDITOR)
    version = make_version()
    paragraph = _first_paragraph(db, version)
    url = f"/plans/{version.plan.slug}/v1/edit/p/{paragraph.key}"
    token = csrf_token(client, url)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "lock_version": "1",
            "html": '<p onmouseover="x()">Nuovo <em>testo</em><script>alert(1)</script></p>',
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    paragraph = db.session.get(Paragraph, paragraph.id)
    assert paragraph.html == "<p>Nuovo <em>testo</em></p>"
    assert paragraph.text == "Nuovo testo"
    assert paragraph.lock_version == 2


def test_two_editors_never_overwrite_each_other_silently(db, client, app, make_user, make_version):
    from tests.fixtures.factories import login

    version = make_version()
    paragraph = _first_paragraph(db, version)
    url = f"/plans/{version.plan.slug}/v1/edit/p/{paragraph.key}"
    other = app.test_client()
    login(client, make_user(Role.EDITOR))
    login(other, make_user(Role.EDITOR))
    first_token, second_token = csrf_token(client, url), csrf_token(other, url)
    first = client.post(
        url, data={"csrf_token": first_token, "lock_version": "1", "html": "Prima."}
    )
    assert first.status_code == 302
    second = other.post(
        url, data={"csrf_token": second_token, "lock_version": "1", "html": "La mia versione."}
    )
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "La mia versione." in page  # their text back
    assert "Prima." in page  # beside the saved one
    db.session.expire_all()
    assert db.session.get(Paragraph, paragraph.id).text == "Prima."


def test_a_frozen_version_cannot_be_edited_through_the_pages(db, logged_in, make_version):
    client, _user = logged_in(Role.EDITOR)
    version = make_version(status=VersionStatus.FROZEN)
    paragraph = _first_paragraph(db, version)
    url = f"/plans/{version.plan.slug}/v1/edit/p/{paragraph.key}"
    response = client.get(url, follow_redirects=True)
    assert "non può più essere modificato" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Paragraph, paragraph.id).lock_version == 1


def test_section_and_paragraph_actions(db, logged_in, make_version):
    client, _user = logged_in(Role.EDITOR)
    version = make_version()
    slug = version.plan.slug
    tree = load_tree(db.session, version)
    node = tree.roots[0]
    base = f"/plans/{slug}/v1/edit"
    token = csrf_token(client, f"{base}/s/{node.section.key}")
    first, second = node.paragraphs
    assert (
        client.post(
            f"{base}/s/{node.section.key}/paragraphs",
            data={"csrf_token": token, "html": "Aggiunto.", "after": first.key},
        ).status_code
        == 302
    )
    for action in ("down", "up"):
        response = client.post(
            f"{base}/p/{first.key}/action", data={"csrf_token": token, "action": action}
        )
        assert response.status_code == 302, action
    merge = merge_fields(client.get(f"{base}/s/{node.section.key}"), first.key)
    assert set(merge) == {"csrf_token", "action", "lock_version", "next", "next_lock"}
    assert client.post(f"{base}/p/{first.key}/action", data=merge).status_code == 302
    response = client.post(
        f"{base}/p/{first.key}/split",
        data={"csrf_token": token, "lock_version": "2", "html": "Uno\n---\nDue"},
    )
    assert response.status_code == 302
    response = client.post(
        f"{base}/p/{second.key}/action",
        data={"csrf_token": token, "action": "move", "section": tree.roots[1].section.key},
    )
    assert response.status_code == 302
    assert (
        client.post(
            f"{base}/s/{node.section.key}/action",
            data={"csrf_token": token, "action": "delete", "confirmed": "1"},
        ).status_code
        == 302
    )  # refused: the section has paragraphs (a message, nothing changed)
    response = client.post(
        f"{base}/s/{node.section.key}",
        data={
            "csrf_token": token,
            "lock_version": "1",
            "number": "1",
            "title": "Nuovo titolo",
            "policy_area": "agile",
        },
    )
    assert response.status_code == 302
    stale = client.post(
        f"{base}/s/{node.section.key}",
        data={"csrf_token": token, "lock_version": "1", "number": "1", "title": "Vecchio"},
    )
    assert stale.status_code == 409
    assert (
        client.post(
            f"{base}/p/{first.key}/action", data={"csrf_token": token, "action": "fly"}
        ).status_code
        == 400
    )
    db.session.expire_all()
    texts = [p.text for _n, p in load_tree(db.session, version).paragraphs()]
    assert texts[:2] == ["Uno", "Due"]
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {
        "plan.paragraph_added",
        "plan.paragraphs_merged",
        "plan.paragraph_split",
        "plan.paragraph_moved",
        "plan.section_updated",
    } <= actions


def test_freeze_adopt_and_successor_through_the_pages(db, logged_in, make_version):
    client, _user = logged_in(Role.EDITOR)
    version = make_version()
    slug = version.plan.slug
    token = csrf_token(client, f"/plans/{slug}/")
    freeze = {"csrf_token": token, "transition": "freeze", "confirmed": "1"}
    client.post(f"/plans/{slug}/v1/state", data=freeze)
    client.post(f"/plans/{slug}/v1/successor", data={"csrf_token": token, "label": "Rev"})
    client.post(f"/plans/{slug}/v1/state", data={**freeze, "transition": "adopt"})
    db.session.expire_all()
    versions = version.plan.versions
    assert [v.status for v in versions] == [VersionStatus.ADOPTED, VersionStatus.DRAFT]
    page = client.get(f"/plans/{slug}/diff?old=1&new=2").get_data(as_text=True)
    assert "Paragraphs changed: 0" in page or "Paragrafi modificati: 0" in page


# Queries per page --------------------------------------------------------------------------


@contextlib.contextmanager
def count_queries():
    counted = []

    def before(conn, cursor, statement, parameters, context, executemany):
        counted.append(statement)

    event.listen(_db.engine, "before_cursor_execute", before)
    try:
        yield counted
    finally:
        event.remove(_db.engine, "before_cursor_execute", before)


def _queries_per_page(db, client, make_version, make_successor, sections: int) -> dict:
    first = make_version(text=generated_text(sections), status=VersionStatus.FROZEN)
    second = make_successor(first)
    paragraphs = [p for _n, p in load_tree(db.session, second).paragraphs()]
    for paragraph in paragraphs[::10]:
        operations.update_paragraph(
            db.session,
            paragraph,
            html=paragraph.text + " Modificato.",
            seen_lock=paragraph.lock_version,
        )
    db.session.commit()
    tree = load_tree(db.session, second)
    slug = first.plan.slug
    root, key = tree.roots[0].section.key, paragraphs[0].key
    pages = {
        "read": f"/plans/{slug}/v2/",
        "section": f"/plans/{slug}/v2/s/{root}",
        "diff": f"/plans/{slug}/diff?old=1&new=2",
        "edit": f"/plans/{slug}/v2/edit",
        "edit_section": f"/plans/{slug}/v2/edit/s/{root}",
        "edit_paragraph": f"/plans/{slug}/v2/edit/p/{key}",
        "plan": f"/plans/{slug}/",
    }
    result = {}
    for name, url in pages.items():
        with count_queries() as counted:
            response = client.get(url)
        assert response.status_code == 200, url
        result[name] = len(counted)
    return result


def test_queries_per_page_do_not_grow_with_the_plan(db, logged_in, make_version, make_successor):
    client, _user = logged_in(Role.EDITOR)
    small = _queries_per_page(db, client, make_version, make_successor, 6)
    large = _queries_per_page(db, client, make_version, make_successor, 60)
    # the large plan's version page is its table of contents (the text is read by section):
    # it shows no change, so it reads no reasons — one statement less; the rest are the same
    assert large.pop("read") == small.pop("read") - 1
    assert small == large
    # the comparison page is the largest: the trees, the lineage, the stored changes and their
    # spans, and the one query of each registered annotator (decisions: "why it changed")
    assert max(small.values()) <= 13, small


def test_a_section_page_reads_the_text_of_its_own_section_only(db, client, make_version):
    version = make_version(text=generated_text(60), status=VersionStatus.FROZEN)
    root = load_tree(db.session, version).roots[1].section.key
    with count_queries() as statements:
        response = client.get(f"/plans/{version.plan.slug}/v1/s/{root}")
    assert response.status_code == 200
    texts = [s for s in statements if "plan_paragraphs.html" in s]
    assert len(texts) == 1 and "section_id IN" in texts[0]
    with count_queries() as statements:
        response = client.get(f"/plans/{version.plan.slug}/v1/p/{version.id}-nokey")
    assert response.status_code == 404
    assert not [s for s in statements if "plan_paragraphs.html" in s]
