from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, IdMixin, JsonDocument, utcnow

UNPUBLISHED_ONLY = text("published_at IS NULL")


class OutboxEvent(IdMixin, Base):
    """An event written in the same transaction as the change it describes; the relay sends it to
    the broker with message id = ``id``."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_unpublished",
            "id",
            postgresql_where=UNPUBLISHED_ONLY,
            sqlite_where=UNPUBLISHED_ONLY,
        ),
    )

    event_type: Mapped[str] = mapped_column(String(64))
    """``domain.event``, such as ``follows.created``."""
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
    published_at: Mapped[dt.datetime | None]
