"""What the actors of one process run with: the broker they are bound to, an event loop thread
with its own database engine, and the coalesced trust refresh. ``bzpeer worker`` runs one with
the Redis broker; the embedded default runs one inside ``bzpeer serve`` with the stub broker.
The actors and their code paths are the same."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import dramatiq
from dramatiq import Broker, Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, Middleware
from dramatiq.worker import ConsumerThread, WorkerThread
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.db.session import writer_options
from service.events.service import events
from service.imports.openalex.distributed import (
    IMPORT_FILE_JOB,
    IMPORTS_QUEUE,
    FileJob,
    record_job_failure,
    run_file_job,
)
from service.live.publisher import Changes, Publisher, RedisPublisher
from service.live.topics import Channels, Topic
from service.logging import log
from service.trust.service import StaleRefresh, trust
from workers.actor import EVENT_ACTORS, Batch, EventActor
from workers.actors import load as load_actors
from workers.broker import DERIVED_QUEUE, EVENTS_QUEUE, create_broker
from workers.coalesce import Flag, LocalFlag, RedisFlag
from workers.group_commit import IN_FLIGHT, Delivery, GroupCommit
from workers.session import unit_of_work

IMPORT_TIME_LIMIT_MS = 12 * 3_600_000
"""Longest import of one file (a snapshot part is under 2 GB)."""
IMPORT_RETRIES = 3

T = TypeVar("T")

WORKER_POOL_SIZE = IN_FLIGHT + 2
"""Connections per engine of a worker process: the group-commit batches in flight, plus
dead-letter bookkeeping and the embedded relay."""

TRUST_REFRESH = "trust.refresh"
WORKER_THREAD_IDLE_MS = 1_000
"""How long an idle worker thread waits for work before checking that it should go on (it is
woken by work itself, so this only bounds how long stopping takes), and how often consumers of
queues outside ``LATENCY_QUEUES`` poll."""
LATENCY_QUEUES = frozenset({EVENTS_QUEUE, DERIVED_QUEUE})
"""Queues whose messages someone waits for: events, and the trust and cluster work after them."""
WORKER_POLL_MS = 20
"""Longest idle wait of a worker's consumers between polls of Redis (Dramatiq's default of a
second would add up to a second to an event's latency)."""


class LoopThread:
    """An asyncio loop in a daemon thread: Dramatiq's worker threads hand it coroutines."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start ``coro`` on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, callback: Callable[[], object]) -> None:
        self.loop.call_soon_threadsafe(callback)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it; an interrupt (Dramatiq's time limit,
        shutdown) cancels it."""
        future = self.submit(coro)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def _worker_engine(settings: Settings) -> AsyncEngine:
    backend = make_url(settings.resolved_database_url).get_backend_name()
    # No pre-ping: it costs a round trip per transaction, and after a database restart the
    # first failure invalidates the whole pool anyway (the event is retried).
    pool: dict[str, Any] = (
        {} if backend == "sqlite" else {"pool_size": WORKER_POOL_SIZE, "pool_pre_ping": False}
    )
    return create_engine(
        settings, maintenance=True, execution_options=writer_options(backend), **pool
    )


class QuietWorker(dramatiq.Worker):
    """Dramatiq's worker, quiet when idle. Dramatiq gives every thread the one poll timeout,
    short (``WORKER_POLL_MS``) for the events' latency; 64 idle worker threads and six
    consumers then woke 3,500 times a second (16% of a core idle). Here worker threads wait
    ``WORKER_THREAD_IDLE_MS`` (the work queue itself wakes them, so latency does not change),
    and only Redis consumers of ``LATENCY_QUEUES`` keep the short timeout, which they use only
    while busy (idle, they wait for the doorbell: ``workers.doorbell``). Delay queues (retries
    back off 200 ms and more), import jobs and the stub broker's consumers (its queue wakes
    them) need no short one."""

    def _add_consumer(self, queue_name: str, *, delay: bool = False) -> None:
        if queue_name in self.consumers:
            return
        # Only Redis consumers poll; the stub broker's queue wakes its consumer itself.
        urgent = queue_name in LATENCY_QUEUES and not delay and isinstance(self.broker, RedisBroker)
        consumer = self.consumers[queue_name] = ConsumerThread(
            broker=self.broker,
            queue_name=queue_name,
            prefetch=self.delay_prefetch if delay else self.queue_prefetch,
            work_queue=self.work_queue,
            worker_timeout=WORKER_POLL_MS if urgent else WORKER_THREAD_IDLE_MS,
        )
        consumer.start()

    def _add_worker(self) -> None:
        worker = WorkerThread(
            broker=self.broker,
            consumers=self.consumers,
            work_queue=self.work_queue,
            worker_timeout=WORKER_THREAD_IDLE_MS,
        )
        worker.start()
        self.workers.append(worker)


class DeadLetters(Middleware):
    """Record an event whose last retry failed, so that ``bzpeer events failed`` lists it, the
    failed-events metric counts it, the reconciler leaves it alone and ``bzpeer events replay``
    can send it again."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    def after_nack(self, broker: Broker, message: Message[Any]) -> None:  # type: ignore[override]
        self.runtime.stats["dead_lettered"] += 1
        if message.actor_name not in EVENT_ACTORS:
            log.error("job.dead_lettered", actor=message.actor_name, message_id=message.message_id)
            return
        error = str(message.options.get("traceback") or "failed")
        try:
            self.runtime.loop.run(self.runtime.record_failure(int(message.message_id), error))
        except Exception:  # the database is down too: the reconciler will send it again
            log.exception("event.dead_letter_not_recorded", event_id=message.message_id)
        log.error("event.dead_lettered", event_type=message.actor_name, event_id=message.message_id)


class WorkerRuntime:
    def __init__(
        self,
        settings: Settings,
        broker: Broker | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker or create_broker(settings)
        self.publisher = publisher or (
            RedisPublisher(self.broker.client, Channels(settings.broker_namespace))
            if isinstance(self.broker, RedisBroker)
            else None  # the stub broker alone: no API process to tell
        )
        self.stats: Counter[str] = Counter()
        """Per-process tallies: processed, duplicates, trust_refreshes, trust_recomputed ..."""
        # Events (group commit, the embedded relay) and trust refreshes each get an event loop
        # thread and a database engine of their own: a refresh's computing never holds up the
        # next batch of events.
        self.loop = LoopThread("bzpeer-events")
        self.engine = _worker_engine(settings)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.refresh_loop = LoopThread("bzpeer-trust")
        self.refresh_engine = _worker_engine(settings)
        self.refresh_sessionmaker = create_sessionmaker(self.refresh_engine)
        self.refresh_flag: Flag = (
            RedisFlag(self.broker.client, f"{settings.broker_namespace}:trust-refresh-scheduled")
            if isinstance(self.broker, RedisBroker)
            else LocalFlag()
        )
        self.broker.add_middleware(DeadLetters(self))
        self.batches = GroupCommit(self.apply)
        self.actors = {spec.name: self._declare(spec) for spec in load_actors().values()}
        self.refresh_actor = dramatiq.Actor(
            self._refresh_trust,
            broker=self.broker,
            actor_name=TRUST_REFRESH,
            queue_name=DERIVED_QUEUE,
            priority=0,
            options={},
        )
        self.import_actor = dramatiq.Actor(
            self._import_file,
            broker=self.broker,
            actor_name=IMPORT_FILE_JOB,
            queue_name=IMPORTS_QUEUE,
            priority=10,  # after events: an import must not hold up live updates
            options={"time_limit": IMPORT_TIME_LIMIT_MS, "max_retries": IMPORT_RETRIES},
        )

    # Events

    def _declare(self, spec: EventActor) -> dramatiq.Actor[..., None]:
        def consume(event_id: int, **payload: Any) -> None:
            self.loop.run(self.batches.submit(Delivery(spec, event_id, payload)))

        consume.__name__ = consume.__qualname__ = spec.name.replace(".", "_")
        return dramatiq.Actor(
            consume,
            broker=self.broker,
            actor_name=spec.name,
            queue_name=spec.queue,
            priority=0,
            options={},
        )

    async def consume(self, spec: EventActor, event_id: int, payload: dict[str, Any]) -> bool:
        """Apply one event now, in a transaction of its own; False (and no effect) when it was
        processed before."""
        return event_id in await self.apply(
            [Delivery(spec, event_id, payload)], request_refresh=False
        )

    async def apply(
        self, deliveries: Sequence[Delivery], *, request_refresh: bool = True
    ) -> set[int]:
        """Apply these events in one transaction with their processed marks: stale marks for
        every researcher they touch, then each type's effect. Returns the ids applied now;
        redeliveries (already marked) have no effect."""
        started = time.perf_counter()
        live: dict[Topic, set[int]] = {}
        async with unit_of_work(self.sessionmaker) as session:
            fresh = await events.mark_processed(session, [d.event_id for d in deliveries])
            first: dict[int, Delivery] = {}
            for delivery in deliveries:  # the same event twice in one batch applies once
                if delivery.event_id in fresh:
                    first.setdefault(delivery.event_id, delivery)
            by_type: dict[str, list[Delivery]] = {}
            for delivery in first.values():
                by_type.setdefault(delivery.spec.name, []).append(delivery)
            touched: dict[str, list[int]] = {}
            for name, group in by_type.items():
                touched[name] = await group[0].spec.touched(session, [d.payload for d in group])
            every_touched = {r for ids in touched.values() for r in ids}
            await trust.mark_stale(session, sorted(every_touched))
            # What the events change is shown on these researchers' pages (counters, works,
            # clusters): their change versions are bumped with the commit's other news.
            if every_touched:
                live[Topic.RECORD] = every_touched
            for name in sorted(by_type, key=lambda n: (by_type[n][0].spec.order, n)):
                group = by_type[name]
                batch = Batch([d.payload for d in group], touched[name], self.settings, live)
                await group[0].spec.apply(session, batch)
        self.stats["batches"] += 1
        self.stats["apply_ms"] += round((time.perf_counter() - started) * 1000)
        self.stats["processed"] += len(first)
        self.stats["duplicates"] += len(deliveries) - len(first)
        for event_id, delivery in first.items():
            log.info("event.applied", event_id=event_id, event_type=delivery.spec.name)
        # Also after redeliveries only: the first delivery may have died before asking.
        if live or request_refresh:
            await asyncio.to_thread(self._after_commit, live, request_refresh)
        return set(first)

    def _after_commit(self, live: Changes, request_refresh: bool) -> None:
        self.publish(live)
        if request_refresh:
            self.request_trust_refresh()

    def publish(self, changes: Changes) -> None:
        """Tell subscribers what a committed transaction changed. A failure loses nothing for
        good: every API process re-reads what its subscribers watch when its pub/sub
        connection comes back and every ``live_resync_interval_s``."""
        if self.publisher is None or not any(changes.values()):
            return
        try:
            self.publisher.publish(changes)
        except Exception:
            self.stats["publish_failed"] += 1
            log.warning("live.publish_failed", exc_info=True)

    async def record_failure(self, event_id: int, error: str) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            await events.record_failure(session, event_id, error)

    # Trust, coalesced

    def request_trust_refresh(self) -> None:
        """Schedule a trust refresh ``trust_coalesce_ms`` from now unless one is pending."""
        if self.refresh_flag.acquire():
            self.refresh_actor.send_with_options(delay=self.settings.trust_coalesce_ms)

    def _refresh_trust(self) -> None:
        # Cleared before taking the stale rows: rows added from now on ask for a new refresh.
        self.refresh_flag.release()
        outcome = self.refresh_loop.run(self.refresh_trust())
        if outcome.dependents or outcome.taken >= self.settings.trust_refresh_batch:
            self.request_trust_refresh()

    async def refresh_trust(self) -> StaleRefresh:
        started = time.perf_counter()
        async with unit_of_work(self.refresh_sessionmaker) as session:
            outcome = await trust.refresh_stale(session, self.settings.trust_refresh_batch)
        if outcome.changes.changed:
            await asyncio.to_thread(self.publish, {Topic.TRUST: set(outcome.changes.changed)})
        self.stats["refresh_ms"] += round((time.perf_counter() - started) * 1000)
        if outcome.taken:
            self.stats["trust_refreshes"] += 1
            self.stats["trust_recomputed"] += outcome.taken
        return outcome

    # Imports

    def _import_file(self, **job: Any) -> None:
        """One file of ``bzpeer import openalex --enqueue``; a retry resumes it."""
        spec = FileJob(**job)
        try:
            result = run_file_job(self.settings, spec)
        except Exception as error:
            message = CurrentMessage.get_current_message()
            retries = message.options.get("retries", 0) if message else IMPORT_RETRIES
            if retries >= IMPORT_RETRIES:  # the last try: tell the waiting command
                record_job_failure(self.settings, spec, f"{type(error).__name__}: {error}")
            raise
        self.stats["imported_files"] += 1
        log.info(
            "import.file_done",
            path=result.path,
            resumed_at=result.resumed_at,
            broken=result.broken,
            **result.counts.tally(),
        )

    # Lifecycle

    def start_worker(self, threads: int | None = None) -> dramatiq.Worker:
        worker = QuietWorker(
            self.broker,
            worker_threads=threads or self.settings.worker_threads,
            worker_timeout=WORKER_POLL_MS,
        )
        worker.start()
        return worker

    def close(self) -> None:
        self.loop.run(self.engine.dispose())
        self.loop.stop()
        self.refresh_loop.run(self.refresh_engine.dispose())
        self.refresh_loop.stop()
