"""Every domain's models, imported in one place so that Alembic and create_app see them all."""

from app.accounts.models import LoginFailure, PasswordToken, Role, User, UserRole
from app.api.models import ApiToken, IdempotencyRecord
from app.core.audit import AuditEntry
from app.notifications.models import OutboxMessage, OutboxStatus
from app.observations.models import Attachment, Observation
from app.rounds.models import ProtocolCounter, Round
from app.stakeholders.models import Organisation, OrganisationKind

__all__ = [
    "Attachment",
    "Observation",
    "ProtocolCounter",
    "Round",
    "ApiToken",
    "AuditEntry",
    "IdempotencyRecord",
    "LoginFailure",
    "Organisation",
    "OrganisationKind",
    "OutboxMessage",
    "OutboxStatus",
    "PasswordToken",
    "Role",
    "User",
    "UserRole",
]
