"""The outbox relay: sends committed outbox rows to the broker in id order with message id =
outbox id, then marks them published. It wakes on PostgreSQL NOTIFY (the outbox insert trigger)
with a polling fallback, and polls on SQLite. Its reconciler sends again what no consumer marked
processed in time (Redis may lose messages) and asks for a trust refresh while stale rows wait.

Crash points: killed after sending and before marking, the rows stay unpublished and go again;
killed after marking and before committing, the mark rolls back and they go again. Consumers
skip what they already processed, so a second send changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Sequence

import asyncpg
from dramatiq import Broker, Message
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.claims.service import claims
from service.config import Settings
from service.events.catalogue import AUDIT_ONLY
from service.events.models import OutboxEvent
from service.events.repository import NOTIFY_CHANNEL
from service.events.service import events
from service.events.wakeups import on_outbox_commit
from service.failpoints import Failpoints
from service.live.invalidation import tags_of_events
from service.live.publisher import Publisher
from service.logging import log
from service.trust.service import trust
from workers.actors import load as load_actors
from workers.broker import DERIVED_QUEUE
from workers.runtime import TRUST_REFRESH
from workers.session import unit_of_work

RETRY_AFTER_ERROR_S = 1.0
"""Pause after the database or the broker failed, before trying again."""


def event_message(event: OutboxEvent) -> Message[None]:
    spec = load_actors()[event.event_type]
    return Message(
        queue_name=spec.queue,
        actor_name=spec.name,
        args=(),
        kwargs={"event_id": event.id, **event.payload},
        options={},
        message_id=str(event.id),
    )


class Relay:
    def __init__(
        self,
        settings: Settings,
        broker: Broker,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.sessionmaker = sessionmaker
        self.publisher = publisher
        """Bumps the change versions the events name once they are sent (events of every
        process pass here: an import or a recluster run elsewhere too)."""
        self.failpoints = Failpoints(settings.failpoints)
        self.consumers = load_actors()
        self.consumed = frozenset(self.consumers)
        url = make_url(settings.resolved_database_url)
        self.listen_dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self.poll_interval = (
            settings.relay_poll_interval_ms
            if self.listen_dsn
            else settings.relay_sqlite_poll_interval_ms
        ) / 1000
        self._wake = asyncio.Event()
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; database and broker failures are logged and retried."""
        listener = asyncio.create_task(self._listen(stop)) if self.listen_dsn else None
        loop = asyncio.get_running_loop()

        # Commits of this process wake it at once (the embedded default's API and workers);
        # other processes' (commands) wait for the next poll.
        def wake() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._wake.set)

        stop_hearing = on_outbox_commit(wake)
        next_reconcile = time.monotonic() + self.settings.reconcile_interval_s
        try:
            while not stop.is_set():
                self._wake.clear()  # a NOTIFY from here on wakes the next wait
                try:
                    published = await self.publish()
                    if time.monotonic() >= next_reconcile:
                        await self.reconcile()
                        next_reconcile = time.monotonic() + self.settings.reconcile_interval_s
                except Exception as exc:
                    log.warning("relay.retrying", error=f"{type(exc).__name__}: {exc}")
                    await _wait(stop, RETRY_AFTER_ERROR_S)
                    continue
                if published >= self.settings.relay_batch_size:
                    continue  # more are waiting
                await _wait_any(stop, self._wake, self.poll_interval)
        finally:
            stop_hearing()
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def publish(self) -> int:
        """Send one batch of unpublished events; returns how many were taken."""
        async with unit_of_work(self.sessionmaker) as session:
            batch = await events.take_unpublished(session, self.settings.relay_batch_size)
            if not batch:
                return 0
            await self._send([e for e in batch if e.event_type in self.consumed])
            self.failpoints.reach("relay.after_send")
            unknown = sorted({e.event_type for e in batch} - self.consumed - AUDIT_ONLY)
            if unknown:  # a newer producer's: left unprocessed for a relay that knows them
                log.warning("relay.unknown_event_types", event_types=unknown)
            await events.mark_published(session, batch)
            self.failpoints.reach("relay.after_mark")
        self.sent += len(batch)
        await self._invalidate(batch)
        return len(batch)

    async def _invalidate(self, batch: Sequence[OutboxEvent]) -> None:
        tags = tags_of_events((e.event_type, e.payload) for e in batch)
        if self.publisher is None or not tags:
            return
        try:
            await asyncio.to_thread(self.publisher.invalidate, tags)
        except Exception:  # the events are sent; cached answers expire by their TTL
            log.warning("relay.invalidate_failed", tags=len(tags), exc_info=True)

    async def reconcile(self) -> None:
        """Send again events with no processed mark long after they were sent; ask for a trust
        refresh while stale rows wait; drop processed events past their retention."""
        overdue_after = dt.timedelta(seconds=self.settings.reconcile_after_s)
        async with unit_of_work(self.sessionmaker) as session:
            overdue = await events.take_overdue(
                session, overdue_after, self.consumed, self.settings.relay_batch_size
            )
            if overdue:
                await self._send(overdue)
                await events.mark_published(session, overdue)
                log.warning("relay.resent", events=len(overdue), first=overdue[0].id)
            if expired := await claims.expire_overdue(session):
                log.info("claims.expired", claims=expired)
            if await trust.stale_waiting(session, overdue_after / 3):
                await asyncio.to_thread(self.broker.enqueue, _trust_refresh_message())
            await events.prune(session, dt.timedelta(hours=self.settings.outbox_retention_hours))

    async def _send(self, batch: Sequence[OutboxEvent]) -> None:
        messages = [event_message(event) for event in batch]
        if messages:
            await asyncio.to_thread(self._enqueue_all, messages)

    def _enqueue_all(self, messages: list[Message[None]]) -> None:
        for message in messages:
            self.broker.enqueue(message)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Hold a LISTEN connection, reconnecting after failures; polling covers the gaps."""
        assert self.listen_dsn is not None
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(self.listen_dsn, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("relay.listen_failed", error=f"{type(exc).__name__}: {exc}")
                await _wait(stop, RETRY_AFTER_ERROR_S)
                continue
            lost = asyncio.Event()
            try:
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(NOTIFY_CHANNEL, lambda *_a: self._wake.set())
                self._wake.set()  # catch up on what was inserted while not listening
                log.info("relay.listening", channel=NOTIFY_CHANNEL)
                await _wait_any(stop, lost, None)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), timeout=2)


def _trust_refresh_message() -> Message[None]:
    return Message(
        queue_name=DERIVED_QUEUE, actor_name=TRUST_REFRESH, args=(), kwargs={}, options={}
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_any(stop: asyncio.Event, other: asyncio.Event, seconds: float | None) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(other.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
