"""Organisations that take part in consultations (the full registry comes with its own issue)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, enum_type, utcnow


class OrganisationKind(enum.StrEnum):
    COMUNE = "comune"
    UNIVERSITA = "universita"
    AUTONOMIA_FUNZIONALE = "autonomia_funzionale"
    ASSOCIAZIONE_CATEGORIA = "associazione_categoria"
    SINDACATO = "sindacato"
    TERZO_SETTORE = "terzo_settore"
    ALTRO_ENTE_PUBBLICO = "altro_ente_pubblico"
    ALTRO = "altro"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind, "kind"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"
