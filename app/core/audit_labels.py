"""How every audit action reads in the interface (Italian and English, through the catalogue).

Every action code recorded anywhere in ``app/`` has a label here (``tests/core/test_audit_page``
checks it); an unknown code shows as itself.
"""

from __future__ import annotations

from app.core.i18n import lazy_gettext as _l

AUDIT_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.logout": _l("Logged out"),
    "auth.login_failed": _l("Failed login"),
    "auth.login_throttled": _l("Login refused: too many failures"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset_requested": _l("Password reset requested"),
    "auth.password_reset": _l("Password reset"),
    "auth.password_reset_throttled": _l("Password reset refused: too many requests"),
    "auth.password_reset_unknown": _l("Password reset asked for an unknown address"),
    "auth.welcome_sent": _l("Link to set the password sent"),
    "user.created": _l("Account created"),
    "user.updated": _l("Account details changed"),
    "user.roles_changed": _l("Roles changed"),
    "user.activated": _l("Account reactivated"),
    "user.deactivated": _l("Account deactivated"),
    "user.linked_to_organisation": _l("Account linked to an organisation"),
    "outbox.requeued": _l("E-mail re-queued"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "organisation.created": _l("Organisation added"),
    "organisation.updated": _l("Organisation changed"),
    "organisation.primary_referent_set": _l("Main referent chosen"),
    "zone.created": _l("Zona omogenea added"),
    "zone.updated": _l("Zona omogenea changed"),
    "group.created": _l("Group added"),
    "group.updated": _l("Group changed"),
    "invitation.sent": _l("Referent invited"),
    "invitation.resent": _l("Invitation sent again"),
    "invitation.revoked": _l("Invitation revoked"),
    "invitation.accepted": _l("Invitation accepted"),
    "invitation.bulk_sent": _l("Referents invited in bulk"),
    "registry.comuni_imported": _l("Comuni imported from ISTAT"),
    "registry.zones_imported": _l("Zone omogenee imported"),
    "registry.organisations_imported": _l("Organisations imported"),
    "plan.created": _l("Plan created"),
    "plan.updated": _l("Plan details changed"),
    "plan.version_created": _l("Version created"),
    "plan.successor_created": _l("Next version started"),
    "plan.version_imported": _l("Version imported from a file"),
    "plan.version_frozen": _l("Version frozen"),
    "plan.version_adopted": _l("Version adopted"),
    "plan.import_started": _l("Import started"),
    "plan.import_cancelled": _l("Import cancelled"),
    "plan.paragraph_edited": _l("Paragraph edited"),
    "plan.paragraph_added": _l("Paragraph added"),
    "plan.paragraph_deleted": _l("Paragraph deleted"),
    "plan.paragraph_moved": _l("Paragraph moved"),
    "plan.paragraph_split": _l("Paragraph split"),
    "plan.paragraphs_merged": _l("Paragraphs merged"),
    "plan.section_updated": _l("Section changed"),
    "plan.section_added": _l("Section added"),
    "plan.section_moved": _l("Section moved"),
    "plan.section_deleted": _l("Section deleted"),
    "round.created": _l("Round created"),
    "round.updated": _l("Round changed"),
    "round.schedule": _l("Round scheduled"),
    "round.unschedule": _l("Round back in preparation"),
    "round.open": _l("Round opened"),
    "round.close": _l("Round closed"),
    "round.start_review": _l("Review started"),
    "round.conclude": _l("Round concluded"),
    "round.reminded": _l("Reminder sent"),
    "observation.draft_started": _l("Draft started"),
    "observation.submitted": _l("Observation submitted"),
    "observation.recorded": _l("Observation recorded by staff"),
    "observation.withdrawn": _l("Observation withdrawn"),
    "observation.draft_deleted": _l("Draft deleted by its author"),
}


def audit_label(action: str) -> str:
    return str(AUDIT_LABELS.get(action, action))
