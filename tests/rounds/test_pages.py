"""What a reader of a round's pages sees: one current navigation item, a heading and a way to
the previous and next section, the round's code, and counts without stray separators."""

from __future__ import annotations

import re

from app.accounts.models import Role
from app.observations import operations as observations
from app.plans.tree import load_tree
from tests.fixtures.factories import login


def _section_keys(db, round_):
    return {
        node.section.number: node.section.key
        for node in load_tree(db.session, round_.version).walk()
    }


def test_one_navigation_item_is_current(logged_in, make_round):
    client, _ = logged_in(Role.STAKEHOLDER)
    for path in ("/observations/mine", "/track"):
        page = client.get(path).get_data(as_text=True)
        assert page.count('aria-current="page"') == 1, path
    mine = client.get("/observations/mine").get_data(as_text=True)
    assert re.search(r'href="/observations/mine"\s*aria-current="page"', mine)


def test_a_section_page_has_a_heading_and_leads_to_its_neighbours(
    client, db, make_round, make_user
):
    round_ = make_round()
    login(client, make_user(Role.MODERATOR))
    keys = _section_keys(db, round_)
    page = client.get(f"/rounds/{round_.id}/s/{keys['1']}").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>\s*1 Agile e performante\s*</h1>", page)
    assert re.search(r"<h2[^>]*>\s*1.1 Digitalizzazione\s*</h2>", page)
    assert f'rel="next" class="text-end" href="/rounds/{round_.id}/s/{keys["2"]}"' in page
    assert 'rel="prev"' not in page

    page = client.get(f"/rounds/{round_.id}/s/{keys['1.1']}").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>\s*1.1 Digitalizzazione\s*</h1>", page)
    assert f'rel="prev" href="/rounds/{round_.id}/s/{keys["1"]}"' in page
    assert f'href="/rounds/{round_.id}/s/{keys["2"]}"' in page  # the next top-level section

    page = client.get(f"/rounds/{round_.id}/s/{keys['2']}").get_data(as_text=True)
    assert f'rel="prev" href="/rounds/{round_.id}/s/{keys["1"]}"' in page
    assert 'rel="next"' not in page


def test_staff_see_counts_without_a_dangling_separator(
    client, db, make_round, make_user, make_comune
):
    round_ = make_round()
    author = make_user(Role.STAKEHOLDER, organisation=make_comune("Comune di Rho"))
    node, paragraph = next(load_tree(db.session, round_.version).paragraphs())
    for title in ("Prima", "Seconda"):
        draft = observations.start_draft(
            db.session,
            round_,
            author=author,
            anchor=observations.Anchor(observations.Target.PARAGRAPH, node.section, paragraph),
        )
        observations.save_draft(
            db.session,
            draft,
            user=author,
            title=title,
            body_html="<p>Testo</p>",
            kind=observations.ObservationKind.OBSERVATION,
            proposed_text=None,
            consent_public_name=False,
        )
        observations.submit(db.session, draft, actor=author, send_receipt=False)
    db.session.commit()
    login(client, make_user(Role.MODERATOR))
    page = client.get(f"/rounds/{round_.id}/s/{node.section.key}").get_data(as_text=True)
    assert re.search(r"2 osservazioni\s*</p>", page), "the count ends the line for staff"
    assert "2 osservazioni ·" not in page


def test_the_round_page_shows_the_round_code(logged_in, make_round):
    round_ = make_round(prefix="PSM2019")
    client, _ = logged_in(Role.MODERATOR)
    page = client.get(f"/rounds/{round_.id}/").get_data(as_text=True)
    assert "Codice della consultazione: PSM2019" in page


def _back_link(page: str) -> str:
    return page.split('<main id="main"')[1].split("<h1")[0]


def test_the_receipt_leads_staff_back_to_the_round(
    app, client, make_round, make_user, make_comune, make_observation
):
    round_ = make_round()
    author = make_user(Role.STAKEHOLDER, organisation=make_comune("Comune di Rho"))
    observation = make_observation(round_, author)
    login(client, make_user(Role.MODERATOR))
    back = _back_link(client.get(f"/observations/{observation.id}/").get_data(as_text=True))
    assert f'href="/rounds/{round_.id}/">{round_.title}</a>' in back
    assert "Le mie osservazioni" not in back

    client = app.test_client()
    login(client, author)
    back = _back_link(client.get(f"/observations/{observation.id}/").get_data(as_text=True))
    assert 'href="/observations/mine">Le mie osservazioni</a>' in back
