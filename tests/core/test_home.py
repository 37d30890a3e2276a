"""The home page after login: the consultations open to the user with their deadlines, their
drafts, and for staff what waits for them, in a number of queries that does not grow."""

from __future__ import annotations

from app.accounts.models import Role
from app.rounds.models import RoundState
from app.stakeholders.models import OrganisationKind
from tests.fixtures.factories import login
from tests.plans.test_pages import count_queries


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_referent_sees_open_consultations_and_drafts(
    client, make_round, make_user, make_comune, make_observation
):
    open_round = make_round()
    other = make_round(kinds=(OrganisationKind.SINDACATO,))
    make_round(state=RoundState.SCHEDULED)
    referent = make_user(Role.STAKEHOLDER, organisation=make_comune("Comune di Rho"))
    make_observation(open_round, referent, title="Appunti sul trasporto", submit=False)
    login(client, referent)
    page = _home(client)
    section = page.split('id="home-open"')[1].split("</section>")[0]
    assert open_round.title in section and other.title not in section
    assert "chiude il" in section and "(ora italiana)" in section
    drafts = page.split('id="home-drafts"')[1].split("</section>")[0]
    assert "Appunti sul trasporto" in drafts
    assert 'id="home-work"' not in page  # not staff


def test_staff_see_what_waits_for_them(client, make_round, make_user, make_version):
    waiting = make_round(state=RoundState.DRAFT)
    make_version(label="Revisione in corso")
    login(client, make_user(Role.MODERATOR, Role.EDITOR))
    work = _home(client).split('id="home-work"')[1].split("</section>")[0]
    assert waiting.title in work and waiting.protocol_prefix in work
    assert "Revisione in corso" in work


def test_queries_do_not_grow_with_the_data(
    client, db, make_round, make_user, make_comune, make_observation, make_version
):
    referent = make_user(
        Role.STAKEHOLDER,
        Role.MODERATOR,
        Role.EDITOR,
        Role.ADMIN,
        organisation=make_comune("Comune di Rho"),
    )
    login(client, referent)

    def grow(n):
        for _ in range(n):
            round_ = make_round()
            make_round(state=RoundState.DRAFT)
            make_version()
            make_observation(round_, referent, submit=False)

    grow(1)
    with count_queries() as few:
        _home(client)
    grow(12)
    with count_queries() as many:
        _home(client)
    assert len(many) == len(few), (len(few), len(many))
