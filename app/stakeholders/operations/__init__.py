"""What can happen in the stakeholder registry: organisations, zones, groups, referents and
their invitations. Functions change state, write the audit entry and queue mail; they flush but
never commit (the caller's request or command commits once).

One module per reason to change: ``values`` (the refusal, and reading typed values),
``organisations`` (with zones and groups), ``invitations`` (referents, invitations, bulk
invitations). The CSV and ISTAT imports are in ``app.stakeholders.imports``.
"""

from app.stakeholders.operations.invitations import (
    BulkPlan,
    BulkRow,
    Channel,
    accept_invitation,
    bulk_invite,
    find_invitation,
    invitation_problem,
    invite_referent,
    organisations_of,
    resend_invitation,
    revoke_invitation,
    set_primary_referent,
    set_referent_active,
)
from app.stakeholders.operations.organisations import (
    AUDITED_VALUES,
    OrganisationData,
    create_organisation,
    save_group,
    save_zone,
    update_organisation,
)
from app.stakeholders.operations.values import (
    ISTAT_CODE,
    RegistryError,
    email_address,
    normalise_istat_code,
    website_address,
)

__all__ = [
    "AUDITED_VALUES",
    "ISTAT_CODE",
    "BulkPlan",
    "BulkRow",
    "Channel",
    "OrganisationData",
    "RegistryError",
    "accept_invitation",
    "bulk_invite",
    "create_organisation",
    "email_address",
    "find_invitation",
    "invitation_problem",
    "invite_referent",
    "normalise_istat_code",
    "organisations_of",
    "resend_invitation",
    "revoke_invitation",
    "save_group",
    "save_zone",
    "set_primary_referent",
    "set_referent_active",
    "update_organisation",
    "website_address",
]
