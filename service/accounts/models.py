from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, IdMixin, TimestampMixin


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
