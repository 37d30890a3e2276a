"""The stakeholder registry: organisations, the Tavoli (groups) they sit in, the zone omogenee
that group the comuni, and the invitations that make a person the referent of an organisation.

Referents themselves are users (``User.organisation_id``); see app/accounts/models.py.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, enum_type, utcnow

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.notifications.models import OutboxMessage


class OrganisationKind(enum.StrEnum):
    COMUNE = "comune"
    UNIVERSITA = "universita"
    AUTONOMIA_FUNZIONALE = "autonomia_funzionale"
    ASSOCIAZIONE_CATEGORIA = "associazione_categoria"
    SINDACATO = "sindacato"
    TERZO_SETTORE = "terzo_settore"
    ALTRO_ENTE_PUBBLICO = "altro_ente_pubblico"
    ALTRO = "altro"


group_memberships = Table(
    "group_memberships",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_memberships_organisation_id", "organisation_id"),
)


class Zone(Base):
    """A zona omogenea: a group of comuni with its own territorial agenda."""

    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comuni: Mapped[list[Organisation]] = relationship(
        back_populates="zone", order_by="Organisation.name"
    )

    def __repr__(self) -> str:
        return f"<Zone {self.id} {self.name!r}>"


class Group(Base):
    """A standing table of stakeholders, such as the Tavolo metropolitano."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisations: Mapped[list[Organisation]] = relationship(
        secondary=group_memberships, back_populates="groups", order_by="Organisation.name"
    )

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name!r}>"


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        # ISTAT codes identify comuni only: six digits, province code first (015… for Milano).
        CheckConstraint("istat_code IS NULL OR kind = 'comune'", name="istat_code_only_comuni"),
        CheckConstraint("istat_code IS NULL OR length(istat_code) = 6", name="istat_code_length"),
        CheckConstraint("zone_id IS NULL OR kind = 'comune'", name="zone_only_comuni"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind, "kind"))
    #: ISTAT's alphanumeric municipality code (e.g. 015182 for Rho); comuni only.
    istat_code: Mapped[str | None] = mapped_column(String(6), unique=True)
    #: The zona omogenea of a comune; a comune sits in at most one (this single column).
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    #: Certified e-mail (posta elettronica certificata): where formal letters go.
    pec: Mapped[str | None] = mapped_column(String(254))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    zone: Mapped[Zone | None] = relationship(back_populates="comuni")
    groups: Mapped[list[Group]] = relationship(
        secondary=group_memberships, back_populates="organisations", order_by="Group.name"
    )
    #: Every referent, active or not (a referent who leaves is deactivated, never deleted).
    referents: Mapped[list[User]] = relationship(
        "User", viewonly=True, order_by="[User.active.desc(), User.display_name]"
    )
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="organisation", order_by="Invitation.created_at.desc()", viewonly=True
    )

    @property
    def is_comune(self) -> bool:
        return self.kind == OrganisationKind.COMUNE

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class InvitationStatus(enum.StrEnum):
    """What staff see: the stored state, plus "expired" and "bounced" read from time and mail."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    BOUNCED = "bounced"


class InvitationError(ValueError):
    """A transition refused from the invitation's current state."""


class Invitation(Base):
    """A single-use, expiring link that makes whoever opens it a referent of the organisation.

    Resending replaces the token (the old link stops working) and the e-mail; only a SHA-256 of
    the token is stored. At most one pending invitation exists per organisation and address.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        Index(
            "uq_invitations_pending_email",
            "organisation_id",
            "email",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    #: The name staff gave for the person, if any; the invitee may change it when accepting.
    display_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[InvitationState] = mapped_column(
        enum_type(InvitationState, "state"), default=InvitationState.PENDING
    )
    #: SHA-256 of the token sent by e-mail; replaced on every resend.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_count: Mapped[int] = mapped_column(default=1)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The account that accepted (created or linked then).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The latest invitation e-mail; when it ends "failed", the invitation shows as bounced.
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    organisation: Mapped[Organisation] = relationship(back_populates="invitations")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    outbox_message: Mapped[OutboxMessage | None] = relationship()

    def status(self, now: datetime | None = None) -> InvitationStatus:
        from app.notifications.models import OutboxStatus

        if self.state == InvitationState.ACCEPTED:
            return InvitationStatus.ACCEPTED
        if self.state == InvitationState.REVOKED:
            return InvitationStatus.REVOKED
        if self.outbox_message is not None and self.outbox_message.status == OutboxStatus.FAILED:
            return InvitationStatus.BOUNCED
        if self.expires_at <= (now or utcnow()):
            return InvitationStatus.EXPIRED
        return InvitationStatus.INVITED

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.state == InvitationState.PENDING and self.expires_at > (now or utcnow())

    def _require_pending(self) -> None:
        if self.state != InvitationState.PENDING:
            raise InvitationError(f"invitation {self.id} is {self.state}, not pending")

    def accept(self, user: User) -> None:
        self._require_pending()
        if not self.is_usable():
            raise InvitationError(f"invitation {self.id} has expired")
        self.state = InvitationState.ACCEPTED
        self.accepted_at = utcnow()
        self.user = user

    def revoke(self) -> None:
        self._require_pending()
        self.state = InvitationState.REVOKED
        self.revoked_at = utcnow()

    def renew(self, token_hash: str, expires_at: datetime) -> None:
        """A new token and expiry for a resend: the previous link stops working at once."""
        self._require_pending()
        self.token_hash = token_hash
        self.sent_at = utcnow()
        self.expires_at = expires_at
        self.send_count += 1

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.email} → {self.organisation_id} {self.state}>"
