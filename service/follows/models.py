from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import FetchedValue, ForeignKey, Index, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, utcnow


def random_cursor_key() -> int:
    return secrets.randbits(62)


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        Index("uq_follows_researcher_id_cursor_key", "researcher_id", "cursor_key", unique=True),
    )

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
    cursor_key: Mapped[int] = mapped_column(
        BigId, default=random_cursor_key, server_default=FetchedValue()
    )
    """Orders a record's followers, and is all a follower cursor carries: a random key
    rather than the account id, which a cursor would hand to whoever pages (migration 0011)."""
