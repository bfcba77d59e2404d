from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, IdMixin, JsonDocument, utcnow

UNPUBLISHED_ONLY = text("published_at IS NULL")
UNPROCESSED_ONLY = text("processed_at IS NULL")


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
        Index(
            "ix_outbox_events_unprocessed",
            "id",
            postgresql_where=UNPROCESSED_ONLY,
            sqlite_where=UNPROCESSED_ONLY,
        ),
    )

    event_type: Mapped[str] = mapped_column(String(64))
    """``domain.event``, such as ``follows.created``."""
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
    published_at: Mapped[dt.datetime | None]
    """When the relay last sent it to the broker (the reconciler sends it again if no consumer
    marks it processed in time)."""
    processed_at: Mapped[dt.datetime | None]
    """Set by the consumer in the same transaction as its effect: a redelivery finds it set and
    changes nothing. Events no actor consumes are marked when published."""
    failed_at: Mapped[dt.datetime | None]
    """Set when the consumer gave up after its last retry (dead-lettered); ``bzpeer events
    replay`` clears it and sends the event again."""
    last_error: Mapped[str | None] = mapped_column(Text)
