from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, IdMixin, TimestampMixin


class Account(IdMixin, TimestampMixin, Base):
    """A person who signs in. Distinct from a researcher record, which it may claim."""

    __tablename__ = "accounts"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    """Normalised to lower case."""
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_confirmed_at: Mapped[dt.datetime | None]

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None


class AccountSession(IdMixin, Base):
    """A signed-in session. Only the SHA-256 of its bearer token is stored."""

    __tablename__ = "account_sessions"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class TokenPurpose(enum.StrEnum):
    CONFIRM_EMAIL = "CONFIRM_EMAIL"
    VERIFY_CLAIM = "VERIFY_CLAIM"
    ORCID_STATE = "ORCID_STATE"
    RESET_PASSWORD = "RESET_PASSWORD"


class OneTimeToken(IdMixin, Base):
    """A single-use token sent by mail or carried through an OAuth redirect; stored hashed."""

    __tablename__ = "one_time_tokens"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, native_enum=False, length=32, create_constraint=False)
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    claim_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    password_hash: Mapped[str | None] = mapped_column(String(255))
    """CONFIRM_EMAIL: the password of the sign-up that sent it, set when it is spent."""
    display_name: Mapped[str | None] = mapped_column(String(200))
    """CONFIRM_EMAIL: that sign-up's display name."""


class ApiKey(IdMixin, Base):
    """An integrator's key: authenticates a program, never a person."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
