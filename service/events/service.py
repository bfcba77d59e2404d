"""Events enter the transaction of the change they describe, never the broker directly; this
module also holds the delivery bookkeeping the relay, the workers and ``bzpeer events`` share.
Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.events.catalogue import AUDIT_ONLY, EventType
from service.events.models import OutboxEvent
from service.events.repository import EventRepository
from service.events.wakeups import EMITTED, OUTBOX_WRITTEN

MAX_ERROR_LENGTH = 4_000
"""Characters of a dead-lettered event's traceback kept in ``last_error``."""


def emit(session: AsyncSession, event_type: str, **payload: Any) -> OutboxEvent:
    """Add an outbox row to ``session``'s transaction: it commits or rolls back with the change.
    ``event_type`` must be in the catalogue (ValueError otherwise: a programming error)."""
    event = OutboxEvent(event_type=EventType(event_type).value, payload=payload)
    session.add(event)
    session.info[OUTBOX_WRITTEN] = True  # wakes this process's relay after the commit
    session.info.setdefault(EMITTED, []).append((event.event_type, payload))
    return event


@dataclass(frozen=True, slots=True)
class Backlog:
    unpublished: int
    """Committed events the relay has not sent yet."""
    unprocessed: int
    """Events no consumer has marked processed (including unpublished and failed ones)."""
    failed: int
    """Dead-lettered events waiting for ``bzpeer events replay``."""


class EventService:
    async def take_unpublished(self, session: AsyncSession, limit: int) -> Sequence[OutboxEvent]:
        """The oldest unpublished events, in id order, locked until this transaction ends."""
        return await EventRepository(session).take_unpublished(limit)

    async def mark_published(self, session: AsyncSession, taken: Sequence[OutboxEvent]) -> None:
        """Record that ``taken`` was published: sent to the broker if consumed, processed at
        once if the catalogue says audit-only, and left unprocessed if its type is unknown here
        (for a process that knows it: ``take_overdue`` sends it again)."""
        await EventRepository(session).mark_published(
            [event.id for event in taken],
            processed=[event.id for event in taken if event.event_type in AUDIT_ONLY],
        )

    async def take_overdue(
        self,
        session: AsyncSession,
        unprocessed_for: dt.timedelta,
        consumed: Collection[str],
        limit: int,
    ) -> Sequence[OutboxEvent]:
        """Events published longer than ``unprocessed_for`` ago with no processed mark, to be sent
        again (the broker may have lost them); mark them published anew after sending."""
        return await EventRepository(session).take_overdue(
            utcnow() - unprocessed_for, consumed, limit
        )

    async def mark_processed(self, session: AsyncSession, event_ids: Collection[int]) -> set[int]:
        """Mark events processed in the transaction of their effect; returns those newly marked.
        The others are redeliveries, whose effect must be skipped."""
        return await EventRepository(session).mark_processed(event_ids)

    async def subsume_pending(self, session: AsyncSession) -> int:
        """Mark every pending event processed, for a transaction that derives everything from
        the source tables in the same snapshot (``recompute --all``): their changes are in what
        it reads, and applying them again on top would count them twice. Returns how many."""
        return await EventRepository(session).mark_all_processed()

    async def record_failure(self, session: AsyncSession, event_id: int, error: str) -> None:
        await EventRepository(session).record_failure(event_id, error[-MAX_ERROR_LENGTH:])

    async def failed(self, session: AsyncSession, limit: int = 100) -> Sequence[OutboxEvent]:
        return await EventRepository(session).failed(limit)

    async def replay(self, session: AsyncSession, event_id: int) -> bool:
        """Send a dead-lettered event again (through the relay, with its id as message id)."""
        repository = EventRepository(session)
        if not await repository.unfail(event_id):
            return False
        await repository.notify_relay()
        return True

    async def prune(self, session: AsyncSession, retention: dt.timedelta) -> int:
        return await EventRepository(session).prune(utcnow() - retention)

    async def backlog(self, session: AsyncSession) -> Backlog:
        repository = EventRepository(session)
        return Backlog(
            unpublished=await repository.count_unpublished(),
            unprocessed=await repository.count_unprocessed(),
            failed=await repository.count_failed(),
        )


events = EventService()
