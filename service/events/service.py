"""Events enter the transaction of the change they describe, never the broker directly."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.events.models import OutboxEvent


def emit(session: AsyncSession, event_type: str, **payload: Any) -> OutboxEvent:
    """Add an outbox row to ``session``'s transaction: it commits or rolls back with the change."""
    event = OutboxEvent(event_type=event_type, payload=payload)
    session.add(event)
    return event
