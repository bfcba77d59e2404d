from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, IdMixin, JsonDocument, utcnow
from service.trust.score import TrustBand, VerificationLevel

CURRENT_ONLY = text("is_current")


class TrustSnapshot(IdMixin, Base):
    """One computed trust score with the factors that made it. The newest per researcher has
    ``is_current``; the rest are its history."""

    __tablename__ = "trust_snapshots"
    __table_args__ = (
        Index("ix_trust_snapshots_researcher_id_computed_at", "researcher_id", "computed_at"),
        Index(
            "uq_trust_snapshots_researcher_id_current",
            "researcher_id",
            unique=True,
            postgresql_where=CURRENT_ONLY,
            sqlite_where=CURRENT_ONLY,
        ),
    )

    researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE")
    )
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[TrustBand] = mapped_column(
        Enum(TrustBand, native_enum=False, length=16, create_constraint=False)
    )
    verification_level: Mapped[VerificationLevel] = mapped_column(
        Enum(VerificationLevel, native_enum=False, length=2, create_constraint=False)
    )
    claimed: Mapped[bool] = mapped_column(Boolean)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    """``[{"key", "points", "detail"}]``, in the order of the score's formula."""
    computed_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)


class StaleTrust(IdMixin, Base):
    """A request to recompute a researcher's trust. Event actors append one per researcher they
    touch (never a conflict, so never a wait on a refresh in progress); the coalesced
    ``trust.refresh`` job deletes a batch of requests and recomputes their researchers once, so
    a burst of events costs a few recomputes, not one each."""

    __tablename__ = "trust_stale"

    researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), index=True
    )
    requested_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
