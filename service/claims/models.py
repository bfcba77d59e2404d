from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, IdMixin, TimestampMixin, utcnow


class ClaimMethod(enum.StrEnum):
    INSTITUTIONAL_EMAIL = "INSTITUTIONAL_EMAIL"
    ORCID = "ORCID"


class ClaimStatus(enum.StrEnum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


VERIFIED_ONLY = text("status = 'VERIFIED'")
PENDING_ONLY = text("status = 'PENDING'")


class Claim(IdMixin, TimestampMixin, Base):
    """An account's claim that a researcher record is theirs, with the evidence offered."""

    __tablename__ = "claims"
    __table_args__ = (
        # A record has at most one verified claimant; an account verifies at most one record.
        Index(
            "uq_claims_researcher_id_verified",
            "researcher_id",
            unique=True,
            postgresql_where=VERIFIED_ONLY,
            sqlite_where=VERIFIED_ONLY,
        ),
        Index(
            "uq_claims_account_id_verified",
            "account_id",
            unique=True,
            postgresql_where=VERIFIED_ONLY,
            sqlite_where=VERIFIED_ONLY,
        ),
        Index(
            "ix_claims_pending_expires_at",
            "expires_at",
            postgresql_where=PENDING_ONLY,
            sqlite_where=PENDING_ONLY,
        ),
        # An institutional address verifies at most one record.
        Index(
            "uq_claims_evidence_hash_verified",
            "evidence_hash",
            unique=True,
            postgresql_where=VERIFIED_ONLY,
            sqlite_where=VERIFIED_ONLY,
        ),
    )

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[ClaimMethod] = mapped_column(
        Enum(ClaimMethod, native_enum=False, length=32, create_constraint=False)
    )
    status: Mapped[ClaimStatus] = mapped_column(
        Enum(ClaimStatus, native_enum=False, length=16, create_constraint=False),
        default=ClaimStatus.PENDING,
    )
    evidence: Mapped[str | None] = mapped_column(String(320))
    """The ORCID iD that backs an ORCID claim."""
    evidence_hash: Mapped[str | None] = mapped_column(String(64))
    """An email claim's address, only as ``address_digest`` (migration 0008)."""
    verified_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    """A pending claim's end: its code's (mailed or ORCID state); then the sweep marks it
    EXPIRED and the record falls back to what it is without it."""


class Vouch(IdMixin, Base):
    """An identity-verified researcher vouching for a co-author's record."""

    __tablename__ = "vouches"
    __table_args__ = (UniqueConstraint("voucher_researcher_id", "researcher_id"),)

    voucher_account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    voucher_researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE")
    )
    researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
