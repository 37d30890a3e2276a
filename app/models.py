"""Every domain's models, imported in one place so that Alembic and create_app see them all."""

from app.accounts.models import (
    LoginThrottle,
    PasswordToken,
    Role,
    User,
    UserRole,
    UserSession,
)
from app.api.models import ApiToken, IdempotencyRecord
from app.core.audit import AuditEntry
from app.notifications.models import OutboxMessage, OutboxStatus
from app.observations.models import Attachment, Observation
from app.plans.models import (
    Paragraph,
    ParagraphLineage,
    Plan,
    PlanImport,
    PlanVersion,
    Section,
)
from app.rounds.models import ProtocolCounter, Round
from app.stakeholders.models import (
    Group,
    Invitation,
    InvitationState,
    Organisation,
    OrganisationKind,
    Zone,
    group_memberships,
)

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "Group",
    "IdempotencyRecord",
    "Invitation",
    "InvitationState",
    "LoginThrottle",
    "Observation",
    "Organisation",
    "OrganisationKind",
    "OutboxMessage",
    "OutboxStatus",
    "Paragraph",
    "ParagraphLineage",
    "PasswordToken",
    "Plan",
    "PlanImport",
    "PlanVersion",
    "ProtocolCounter",
    "Role",
    "Round",
    "Section",
    "User",
    "UserRole",
    "UserSession",
    "Zone",
    "group_memberships",
]
