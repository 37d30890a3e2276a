"""Organisations, zones, groups and referents: pages, rules and the database's own guards."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role, User
from app.core.audit import AuditEntry
from app.demo import load_demo
from app.notifications.operations import deliver_due
from app.stakeholders.models import (
    Group,
    Invitation,
    Organisation,
    OrganisationKind,
    Zone,
)
from tests.fixtures.factories import csrf_token


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


# The database refuses what the rules forbid --------------------------------------------------


def _refused(db, *objects) -> None:
    db.session.add_all(objects)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_istat_codes_are_unique_and_for_comuni_only(db, make_comune, make_zone):
    make_comune("Comune di Rho", "015182")
    _refused(db, Organisation(name="Doppione", kind=OrganisationKind.COMUNE, istat_code="015182"))
    _refused(db, Organisation(name="Ateneo", kind=OrganisationKind.UNIVERSITA, istat_code="015999"))
    _refused(db, Organisation(name="Corto", kind=OrganisationKind.COMUNE, istat_code="15"))
    _refused(db, Organisation(name="Ateneo", kind=OrganisationKind.UNIVERSITA, zone=make_zone()))
    _refused(db, Organisation(name="Comune di Rho", kind=OrganisationKind.ALTRO))


def test_one_primary_referent_per_organisation(db, make_comune, make_user):
    comune = make_comune()
    first = make_user(organisation=comune)
    second = make_user(organisation=comune)
    first.primary_referent = True
    db.session.commit()
    second.primary_referent = True
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    staff = make_user(Role.EDITOR)
    staff.primary_referent = True  # a referent of no organisation
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_one_pending_invitation_per_address_and_organisation(db, make_comune, make_invitation):
    comune = make_comune()
    first = make_invitation(comune, "same@example.org")
    twin = Invitation(
        organisation=comune,
        email="same@example.org",
        token_hash="x" * 64,
        expires_at=first.expires_at,
    )
    _refused(db, twin)
    first.revoke()
    db.session.commit()
    db.session.add(
        Invitation(
            organisation_id=comune.id,
            email="same@example.org",
            token_hash="y" * 64,
            expires_at=first.expires_at,
        )
    )
    db.session.commit()  # once the first is revoked, a new one may be pending


# Pages -------------------------------------------------------------------------------------


def test_staff_create_and_edit_an_organisation(db, staff_client, make_zone, make_group):
    client, moderator = staff_client
    zone, table = make_zone("Nord Ovest"), make_group("Tavolo metropolitano")
    response = _post(
        client,
        "/registry/organisations/new",
        name="  Comune di   Pero ",
        kind="comune",
        istat_code="15170",
        zone_id=str(zone.id),
        pec="Protocollo@PEC.comune.pero.mi.it",
        email="",
        website="www.comune.pero.mi.it",
        groups=[str(table.id)],
        active="y",
    )
    assert response.status_code == 302
    pero = db.session.scalar(select(Organisation).where(Organisation.istat_code == "015170"))
    assert pero.name == "Comune di Pero" and pero.zone == zone and pero.groups == [table]
    assert pero.pec == "protocollo@pec.comune.pero.mi.it"
    assert pero.website == "https://www.comune.pero.mi.it"
    page = client.get(f"/registry/organisations/{pero.id}").get_data(as_text=True)
    assert "Nord Ovest" in page and "Tavolo metropolitano" in page and "015170" in page

    response = _post(
        client,
        f"/registry/organisations/{pero.id}/edit",
        name="Comune di Pero",
        kind="comune",
        istat_code="015170",
        zone_id="0",
        pec="protocollo@pec.comune.pero.mi.it",
        website="https://www.comune.pero.mi.it",
        active="y",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert pero.zone is None and pero.groups == []
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "organisation.updated")
    ).one()
    assert entry.actor_id == moderator.id
    assert entry.details["values"]["zone_id"] == [zone.id, None]
    assert "zone_id" in entry.details["fields"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "universita", "istat_code": "015170"}, "Solo un comune ha un codice ISTAT"),
        ({"istat_code": "01517A"}, "sei cifre"),
        ({"name": "comune di rho"}, "Un altro ente ha già questo nome"),
        ({"pec": "not-an-address"}, "aria-invalid"),
        ({"website": "not a website"}, "Il sito web non è un indirizzo valido"),
    ],
)
def test_organisation_form_names_the_problem(db, staff_client, make_comune, fields, message):
    client, _ = staff_client
    make_comune("Comune di Rho", "015182")
    data = {"name": "Comune di Pero", "kind": "comune", "zone_id": "0", **fields}
    response = _post(client, "/registry/organisations/new", **data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Organisation.id))) == 1


def test_zones_and_groups_are_created_and_renamed(db, staff_client):
    client, _ = staff_client
    assert _post(client, "/registry/zones/new", name="Nord Ovest").status_code == 302
    assert _post(client, "/registry/groups/new", name="Tavolo metropolitano").status_code == 302
    zone = db.session.scalars(select(Zone)).one()
    assert _post(client, f"/registry/zones/{zone.id}", name="Zona Nord Ovest").status_code == 302
    refused = _post(client, "/registry/groups/new", name="tavolo METROPOLITANO")
    assert "Esiste già un tavolo con questo nome" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert zone.name == "Zona Nord Ovest"
    assert db.session.scalar(select(func.count(Group.id))) == 1
    assert "Zona Nord Ovest" in client.get("/registry/zones").get_data(as_text=True)


def test_primary_referent_and_deactivation(app, db, staff_client, make_comune, make_user):
    client, _ = staff_client
    comune = make_comune()
    first = make_user(organisation=comune, name="Prima Referente")
    second = make_user(organisation=comune, name="Secondo Referente")
    base = f"/registry/organisations/{comune.id}/referents"
    assert _post(client, f"{base}/{first.id}/primary").status_code == 302
    assert _post(client, f"{base}/{second.id}/primary").status_code == 302
    db.session.expire_all()
    assert (first.primary_referent, second.primary_referent) == (False, True)

    assert _post(client, f"{base}/{second.id}/active", active="0").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, second.id) is not None  # deactivated, never deleted
    assert not second.active and not second.primary_referent
    assert second.organisation_id == comune.id
    page = client.get(f"/registry/organisations/{comune.id}").get_data(as_text=True)
    assert "Secondo Referente" in page and "Disattivato" in page

    _post(client, f"{base}/{second.id}/primary")
    db.session.expire_all()
    assert not second.primary_referent  # a deactivated referent cannot be the main contact

    other = make_comune()
    response = _post(client, f"/registry/organisations/{other.id}/referents/{first.id}/active")
    assert response.status_code == 404  # not a referent of that organisation


def test_organisation_list_filters(db, staff_client, make_comune, make_zone, make_group):
    client, _ = staff_client
    zone = make_zone("Sud Est")
    melegnano = make_comune("Comune di Melegnano", "015140", zone=zone)
    rho = make_comune("Comune di Rho", "015182")
    university = make_comune("Politecnico di Milano", kind=OrganisationKind.UNIVERSITA)
    group = make_group("Tavolo metropolitano Università", members=[university])

    def names(query):
        page = client.get(f"/registry/{query}").get_data(as_text=True)
        return {o.name for o in (melegnano, rho, university) if o.name in page}

    assert names("") == {"Comune di Melegnano", "Comune di Rho", "Politecnico di Milano"}
    assert names("?q=rho") == {"Comune di Rho"}
    assert names("?q=015140") == {"Comune di Melegnano"}
    assert names(f"?zone={zone.id}") == {"Comune di Melegnano"}
    assert names(f"?group={group.id}") == {"Politecnico di Milano"}
    assert names("?kind=universita") == {"Politecnico di Milano"}
    assert client.get("/registry/?q=%25&kind=nonsense").status_code == 200


@contextmanager
def _count_queries(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _populate(db, numbers: range, zone, group) -> None:
    for number in numbers:
        organisation = Organisation(
            name=f"Ente {number:04d}",
            kind=OrganisationKind.COMUNE,
            istat_code=f"{900000 + number}",
            zone=zone,
            groups=[group],
        )
        db.session.add(organisation)
        db.session.flush()
        db.session.add(
            User(email=f"ref{number}@example.org", display_name="R", organisation=organisation)
        )
    db.session.commit()


def test_the_organisation_list_runs_the_same_queries_for_10_or_200(db, staff_client, make_zone):
    client, _ = staff_client
    zone, group = make_zone("Zona"), Group(name="Tavolo")
    db.session.add(group)
    counts = []
    for numbers in (range(10), range(10, 200)):
        _populate(db, numbers, zone, group)
        with _count_queries(db.engine) as statements:
            page = client.get("/registry/")
        assert page.status_code == 200
        assert "Tavolo" in page.get_data(as_text=True)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 12


# Bulk invitations --------------------------------------------------------------------------


def test_bulk_invitation_of_a_zone(db, smtp, staff_client, make_zone, make_comune, make_user):
    client, _ = staff_client
    zone = make_zone("Adda Martesana")
    make_zone("Altra zona")
    melzo = make_comune("Comune di Melzo", zone=zone, pec="protocollo@pec.melzo.example.org")
    gorgonzola = make_comune("Comune di Gorgonzola", zone=zone, email="urp@gorgonzola.example.org")
    with_referent = make_comune("Comune di Segrate", zone=zone, pec="pec@segrate.example.org")
    make_user(organisation=with_referent)
    invited = make_comune("Comune di Pioltello", zone=zone, pec="pec@pioltello.example.org")
    _post(
        client,
        f"/registry/organisations/{invited.id}/invite",
        email="sindaco@pioltello.example.org",
    )
    no_address = make_comune("Comune di Liscate", zone=zone)

    preview = _post(
        client, "/registry/invitations/bulk", target=f"zone:{zone.id}", channel="pec_first"
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    for name in (melzo, gorgonzola, with_referent, invited, no_address):
        assert name.name in page
    assert "ha già un referente attivo" in page
    assert "già invitato" in page
    assert "nessun indirizzo PEC o e-mail" in page
    assert "Invia 2 inviti" in page
    assert db.session.scalar(select(func.count(Invitation.id))) == 1  # the preview sent nothing

    sent = _post(
        client,
        "/registry/invitations/bulk",
        target=f"zone:{zone.id}",
        channel="pec_first",
        confirm="1",
    )
    assert sent.status_code == 302
    addresses = set(db.session.scalars(select(Invitation.email)))
    assert addresses == {
        "sindaco@pioltello.example.org",
        "protocollo@pec.melzo.example.org",
        "urp@gorgonzola.example.org",
    }
    deliver_due(db.session)
    assert smtp.inbox.to("protocollo@pec.melzo.example.org")
    assert smtp.inbox.to("urp@gorgonzola.example.org")

    again = _post(
        client, "/registry/invitations/bulk", target=f"zone:{zone.id}", channel="pec_first"
    ).get_data(as_text=True)
    assert re.search(r"Invia \d+ invit", again) is None  # everyone is invited or has a referent
    assert again.count("già invitato") == 3


def test_bulk_invitation_by_pec_only_skips_those_without(db, staff_client, make_group, make_comune):
    client, _ = staff_client
    with_pec = make_comune("Ente con PEC", kind=OrganisationKind.ALTRO, pec="a@pec.example.org")
    without = make_comune("Ente senza PEC", kind=OrganisationKind.ALTRO, email="b@example.org")
    group = make_group("Tavolo", members=[with_pec, without])
    page = _post(
        client, "/registry/invitations/bulk", target=f"group:{group.id}", channel="pec"
    ).get_data(as_text=True)
    assert "nessun indirizzo PEC" in page and "Invia 1 invito" in page


# Demo data ---------------------------------------------------------------------------------


def test_demo_links_the_rho_referent_to_the_istat_comune(db):
    load_demo(db.session)
    db.session.commit()
    referent = db.session.scalar(select(User).where(User.email == "referente@comune-rho.example"))
    assert referent.organisation.istat_code == "015182"
    assert referent.organisation.zone.name == "Nord Ovest"
    assert referent.primary_referent
    assert (
        db.session.scalar(
            select(func.count(Organisation.id)).where(Organisation.name.like("Comune di Rho%"))
        )
        == 1
    )
    assert (
        db.session.scalar(
            select(func.count(Organisation.id)).where(Organisation.kind == OrganisationKind.COMUNE)
        )
        == 133
    )
    assert (
        db.session.scalar(
            select(func.count(Organisation.id)).where(
                Organisation.zone_id.is_(None), Organisation.kind == OrganisationKind.COMUNE
            )
        )
        == 0
    )
    tables = {g.name: len(g.organisations) for g in db.session.scalars(select(Group))}
    assert tables["Tavolo metropolitano Università"] >= 5 and tables["Tavolo metropolitano"] >= 8
    assert load_demo(db.session) == []


def test_demo_adopts_the_comune_di_rho_of_an_older_demo(db, make_organisation, make_user):
    old_rho = make_organisation("Comune di Rho")  # as the foundation's demo created it
    make_user(email="referente@comune-rho.example", organisation=old_rho)
    load_demo(db.session)
    db.session.commit()
    assert old_rho.istat_code == "015182"
    referent = db.session.scalar(select(User).where(User.email == "referente@comune-rho.example"))
    assert referent.organisation_id == old_rho.id
