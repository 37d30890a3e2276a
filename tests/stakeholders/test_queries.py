"""The registry's read side, on its own: filters, statuses and counts."""

from __future__ import annotations

from datetime import timedelta

from app.core.db import utcnow
from app.extensions import db as _db
from app.stakeholders import queries
from app.stakeholders.models import Group, InvitationStatus, OrganisationKind, Zone
from app.stakeholders.queries import OrganisationFilters


def _names(query) -> list[str]:
    return [organisation.name for organisation in _db.session.scalars(query)]


def test_organisations_filter_by_text_kind_zone_and_group(db, make_comune, make_zone, make_group):
    nord = make_zone("Nord Milano")
    sesto = make_comune("Comune di Sesto San Giovanni", "015209", zone=nord)
    make_comune("Comune di Abbiategrasso", "015002")
    cgil = make_comune("CGIL Milano", kind=OrganisationKind.SINDACATO)
    make_group("Tavolo mobilità", members=[sesto, cgil])

    assert _names(queries.organisations()) == [
        "CGIL Milano",
        "Comune di Abbiategrasso",
        "Comune di Sesto San Giovanni",
    ]
    assert _names(queries.organisations(OrganisationFilters(text="  SESTO "))) == [sesto.name]
    assert _names(queries.organisations(OrganisationFilters(text="015002"))) == [
        "Comune di Abbiategrasso"
    ]
    assert _names(queries.organisations(OrganisationFilters(text="50%"))) == []  # escaped
    assert _names(queries.organisations(OrganisationFilters(kind=OrganisationKind.SINDACATO))) == [
        "CGIL Milano"
    ]
    assert _names(queries.organisations(OrganisationFilters(zone_id=nord.id))) == [sesto.name]
    group_id = db.session.scalar(db.select(Group.id))
    assert _names(queries.organisations(OrganisationFilters(group_id=group_id))) == [
        "CGIL Milano",
        sesto.name,
    ]
    both = OrganisationFilters(kind=OrganisationKind.COMUNE, group_id=group_id)
    assert _names(queries.organisations(both)) == [sesto.name]


def test_referent_counts_and_group_names_per_organisation(
    db, make_comune, make_group, make_referent
):
    first, second = make_comune(), make_comune()
    make_referent(first)
    make_referent(first)
    make_referent(first, active=False)
    make_group("B", members=[first])
    make_group("A", members=[first, second])
    ids = [first.id, second.id]
    assert queries.active_referent_counts(ids) == {first.id: 2}
    assert queries.group_names(ids) == {first.id: ["A", "B"], second.id: ["A"]}


def test_invitations_by_status_as_it_stands_now(db, make_comune, make_invitation):
    organisation = make_comune()
    waiting = make_invitation(organisation)
    lapsed = make_invitation(organisation)
    lapsed.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    now = utcnow()

    def emails(status):
        return [i.email for i in db.session.scalars(queries.invitations(status, now))]

    assert set(emails(None)) == {waiting.email, lapsed.email}
    assert emails(InvitationStatus.INVITED) == [waiting.email]
    assert emails(InvitationStatus.EXPIRED) == [lapsed.email]
    assert emails(InvitationStatus.ACCEPTED) == []
    # The same invitation expires as time passes.
    later = now + timedelta(days=365)
    assert [
        i.email for i in db.session.scalars(queries.invitations(InvitationStatus.INVITED, later))
    ] == []


def test_zones_and_groups_with_their_member_counts(db, make_zone, make_comune, make_group):
    empty, full = make_zone("Adda Martesana"), make_zone("Nord Ovest")
    member = make_comune(zone=full)
    make_comune(zone=full)
    make_group("Tavolo casa", members=[member])
    assert [(zone.name, count) for zone, count in queries.with_member_counts(Zone)] == [
        (empty.name, 0),
        (full.name, 2),
    ]
    assert [(g.name, n) for g, n in queries.with_member_counts(Group)] == [("Tavolo casa", 1)]
    assert [row.name for row in queries.names(Zone)] == ["Adda Martesana", "Nord Ovest"]


def test_only_active_organisations_are_offered(db, make_comune):
    kept, gone = make_comune("Comune A"), make_comune("Comune B")
    gone.active = False
    db.session.commit()
    assert [row.id for row in queries.active_organisation_names()] == [kept.id]
