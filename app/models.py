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
from app.core.audit import AuditAddress, AuditChainHead, AuditEntry
from app.decisions.links import DecisionLink
from app.decisions.models import (
    AnswerTemplate,
    Decision,
    DecisionRevision,
    RoundDecisionSettings,
)
from app.moderation.models import (
    AttachmentText,
    InternalNote,
    ObservationTag,
    PointAssignment,
    PointTag,
    SearchDocument,
    Tag,
    Triage,
    TriageTransition,
)
from app.notifications.models import OutboxMessage, OutboxStatus
from app.observations.models import Attachment, Observation, Point
from app.plans.changes import TextChange, TextChangeParagraph, TextChangeSpan
from app.plans.models import (
    Paragraph,
    ParagraphLineage,
    Plan,
    PlanImport,
    PlanVersion,
    Section,
)
from app.reports.models import ExportJob
from app.rounds.models import ConclusionOverride, ProtocolCounter, Round
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
    "AnswerTemplate",
    "ApiToken",
    "Attachment",
    "AttachmentText",
    "AuditAddress",
    "AuditChainHead",
    "AuditEntry",
    "ConclusionOverride",
    "Decision",
    "DecisionLink",
    "DecisionRevision",
    "ExportJob",
    "Group",
    "IdempotencyRecord",
    "InternalNote",
    "Invitation",
    "InvitationState",
    "LoginThrottle",
    "Observation",
    "ObservationTag",
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
    "Point",
    "PointAssignment",
    "PointTag",
    "ProtocolCounter",
    "Role",
    "Round",
    "RoundDecisionSettings",
    "SearchDocument",
    "Section",
    "Tag",
    "TextChange",
    "TextChangeParagraph",
    "TextChangeSpan",
    "Triage",
    "TriageTransition",
    "User",
    "UserRole",
    "UserSession",
    "Zone",
    "group_memberships",
]
