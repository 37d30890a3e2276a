"""How the registry's codes read in the interface (the catalogue translates them)."""

from __future__ import annotations

from app.core.i18n import lazy_gettext as _l
from app.stakeholders.models import InvitationStatus, OrganisationKind
from app.stakeholders.operations import Channel

KIND_LABELS = {
    OrganisationKind.COMUNE: _l("Comune"),
    OrganisationKind.UNIVERSITA: _l("University"),
    OrganisationKind.AUTONOMIA_FUNZIONALE: _l("Functional autonomy"),
    OrganisationKind.ASSOCIAZIONE_CATEGORIA: _l("Trade association"),
    OrganisationKind.SINDACATO: _l("Trade union"),
    OrganisationKind.TERZO_SETTORE: _l("Third sector"),
    OrganisationKind.ALTRO_ENTE_PUBBLICO: _l("Other public body"),
    OrganisationKind.ALTRO: _l("Other"),
}

STATUS_LABELS = {
    InvitationStatus.INVITED: _l("Invited"),
    InvitationStatus.ACCEPTED: _l("Accepted"),
    InvitationStatus.EXPIRED: _l("Expired"),
    InvitationStatus.REVOKED: _l("Revoked"),
    InvitationStatus.BOUNCED: _l("Bounced"),
}

#: Keyed by ``imports.RowAction`` values (imports.py reads this module, not the reverse).
ACTION_LABELS = {
    "create": _l("Create"),
    "update": _l("Update"),
    "unchanged": _l("Unchanged"),
    "reject": _l("Rejected"),
}

#: The organisation fields an import names in its preview.
FIELD_LABELS = {
    "name": _l("Name"),
    "kind": _l("Kind"),
    "istat_code": _l("ISTAT code"),
    "zone": _l("Zona omogenea"),
    "pec": _l("PEC address"),
    "email": _l("E-mail address"),
    "website": _l("Website"),
    "groups": _l("Groups"),
}

CHANNEL_LABELS = {
    Channel.PEC_FIRST: _l("PEC address, else e-mail address"),
    Channel.EMAIL_FIRST: _l("E-mail address, else PEC address"),
    Channel.PEC: _l("PEC address only"),
    Channel.EMAIL: _l("E-mail address only"),
}
