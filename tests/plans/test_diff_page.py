"""The comparison page in words a plan editor uses: formatting changes count as changes, the
before/after links are readable and spaced, no internal change numbers."""

from __future__ import annotations

import re

from app.accounts.models import Role
from app.plans import operations
from app.plans.tree import load_tree


def _page(db, logged_in, make_version, make_successor, edit):
    client, _ = logged_in(Role.EDITOR)
    first = make_version()
    second = make_successor(first)
    paragraph = next(p for _, p in load_tree(db.session, second).paragraphs())
    edit(paragraph)
    db.session.commit()
    slug = first.plan.slug
    response = client.get(f"/plans/{slug}/diff?old=1&new=2")
    assert response.status_code == 200
    return response.get_data(as_text=True), paragraph


def test_adding_bold_is_a_change(db, logged_in, make_version, make_successor):
    def embolden(paragraph):
        operations.update_paragraph(
            db.session,
            paragraph,
            html=f"<p><strong>{paragraph.text}</strong></p>",
            seen_lock=paragraph.lock_version,
        )

    page, paragraph = _page(db, logged_in, make_version, make_successor, embolden)
    assert "Formattazione cambiata, stesse parole" in page
    assert "Paragrafi con la sola formattazione nuova: 1" in page
    assert f"<strong>{paragraph.text}</strong>" in page


def test_links_are_spaced_and_in_plain_words(db, logged_in, make_version, make_successor):
    def reword(paragraph):
        operations.update_paragraph(
            db.session,
            paragraph,
            html="<p>Testo del tutto nuovo.</p>",
            seen_lock=paragraph.lock_version,
        )

    page, _ = _page(db, logged_in, make_version, make_successor, reword)
    keys = page.split('class="diff-keys')[1].split("</ul>")[0]
    assert "Nella versione 1:" in keys and "Nella versione 2:" in keys
    assert re.search(r"</li>\s*<li", keys)  # before and after are separate items
    assert "p-" not in re.sub(r'href="[^"]*"', "", keys)  # no paragraph keys as link text
    assert not re.search(r"modifica \d+", page)
    assert "Collegamento a questa modifica" in page
