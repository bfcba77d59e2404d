"""All SQL of event delivery: the relay's batches, consumers' processed marks, dead letters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import table_of, utcnow
from service.db.repository import is_postgresql
from service.events.models import OutboxEvent

NOTIFY_CHANNEL = "bzpeer_outbox"
"""PostgreSQL channel the relay listens on (the outbox insert trigger notifies it)."""


OUTBOX = table_of(OutboxEvent)
MARK_PROCESSED = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)), OUTBOX.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"), failed_at=None, last_error=None)
    .returning(OUTBOX.c.id)
)


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def take_unpublished(self, limit: int) -> Sequence[OutboxEvent]:
        """The oldest unpublished events, locked so that a second relay skips them."""
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if is_postgresql(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.scalars(stmt)).all()

    async def mark_published(self, ids: Sequence[int], *, processed: Sequence[int] = ()) -> None:
        """Record the send time; ``processed`` are events no consumer needs."""
        now = utcnow()
        if ids:
            await self.session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(published_at=now)
            )
        if processed:
            await self.session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(processed)).values(processed_at=now)
            )

    async def take_overdue(
        self, sent_before: dt.datetime, event_types: Collection[str], limit: int
    ) -> Sequence[OutboxEvent]:
        """Events sent before ``sent_before`` that no consumer has marked processed and that are
        not dead-lettered: their message may have been lost."""
        stmt = (
            select(OutboxEvent)
            .where(
                OutboxEvent.processed_at.is_(None),
                OutboxEvent.failed_at.is_(None),
                OutboxEvent.published_at < sent_before,
                OutboxEvent.event_type.in_(list(event_types)),
            )
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if is_postgresql(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.scalars(stmt)).all()

    async def mark_processed(self, event_ids: Collection[int]) -> set[int]:
        """Mark these events processed; returns those that were not already (the others are
        redeliveries). On PostgreSQL a concurrent delivery of the same event waits here for the
        first one's transaction, then finds it marked."""
        # Core, not an ORM-enabled UPDATE: this runs once per batch of events, and the ORM's
        # bookkeeping cost more than the statement (measured 2.3 ms against 0.5 ms).
        result = await self.session.execute(
            MARK_PROCESSED, {"ids": sorted(set(event_ids)), "now": utcnow()}
        )
        return set(result.scalars().all())

    async def mark_all_processed(self) -> int:
        """Mark every event not yet processed (dead letters included); returns how many."""
        result = await self.session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.processed_at.is_(None))
            .values(processed_at=utcnow(), failed_at=None, last_error=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_failure(self, event_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id, OutboxEvent.processed_at.is_(None))
            .values(failed_at=utcnow(), last_error=error)
        )

    async def failed(self, limit: int) -> Sequence[OutboxEvent]:
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.failed_at.is_not(None), OutboxEvent.processed_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def count_failed(self) -> int:
        stmt = select(func.count()).where(
            OutboxEvent.failed_at.is_not(None), OutboxEvent.processed_at.is_(None)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def count_unpublished(self) -> int:
        stmt = select(func.count()).where(OutboxEvent.published_at.is_(None))
        return int(await self.session.scalar(stmt) or 0)

    async def count_unprocessed(self) -> int:
        stmt = select(func.count()).where(OutboxEvent.processed_at.is_(None))
        return int(await self.session.scalar(stmt) or 0)

    async def unfail(self, event_id: int) -> bool:
        """Clear a dead-lettered event's failure and make it unpublished, so the relay sends it
        again. False when there is no such failed event."""
        result = await self.session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.id == event_id,
                OutboxEvent.failed_at.is_not(None),
                OutboxEvent.processed_at.is_(None),
            )
            .values(failed_at=None, last_error=None, published_at=None)
        )
        return bool(getattr(result, "rowcount", 0))

    async def notify_relay(self) -> None:
        """Wake the relay at commit (PostgreSQL); on SQLite it polls."""
        if is_postgresql(self.session):
            await self.session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))

    async def prune(self, processed_before: dt.datetime) -> int:
        """Delete events processed before ``processed_before``; returns how many."""
        result = await self.session.execute(
            delete(OutboxEvent).where(OutboxEvent.processed_at < processed_before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
