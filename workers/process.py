"""Where the workers run: ``bzpeer worker`` and ``bzpeer relay`` as processes of their own, or
both inside ``bzpeer serve`` (the embedded default)."""

from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import Future

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.heap import freeze_startup_objects
from service.live.publisher import Publisher, redis_publisher
from service.live.topics import Channels
from service.logging import log
from workers.broker import create_broker
from workers.relay import Relay
from workers.runtime import WorkerRuntime
from workers.schedule import ReclusterSchedule

SHUTDOWN_TIMEOUT_MS = 10_000


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


def run_worker(settings: Settings, threads: int | None = None) -> None:
    """Consume events until SIGTERM or SIGINT; unacknowledged messages go back to the queue."""
    runtime = WorkerRuntime(settings)
    if settings.freeze_startup_objects:
        freeze_startup_objects()
    worker = runtime.start_worker(threads)
    schedule = ReclusterSchedule(settings)
    log.info("worker.started", threads=threads or settings.worker_threads)
    stop = threading.Event()
    _stop_on_signals(stop)
    stop.wait()
    schedule.close()
    worker.stop(timeout=SHUTDOWN_TIMEOUT_MS)
    runtime.close()
    log.info("worker.stopped", **runtime.stats)


def run_relay(settings: Settings) -> None:
    """Relay the outbox until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        engine = create_engine(settings, maintenance=True, pool_size=2)
        publisher = None
        if settings.redis_url:
            publisher = redis_publisher(settings.redis_url, Channels(settings.broker_namespace))
        relay = Relay(settings, create_broker(settings), create_sessionmaker(engine), publisher)
        log.info("relay.started")
        try:
            await relay.run(stop)
        finally:
            await engine.dispose()
        log.info("relay.stopped", sent=relay.sent)

    asyncio.run(main())


class EmbeddedWorkers:
    """Relay and worker inside the API process: the same actors on the stub broker (or on
    Redis when ``REDIS_URL`` is set), on an event loop thread apart from the API's."""

    def __init__(self, settings: Settings, publisher: Publisher | None = None) -> None:
        self.runtime = WorkerRuntime(settings, publisher=publisher)
        self.relay = Relay(
            settings, self.runtime.broker, self.runtime.sessionmaker, self.runtime.publisher
        )
        self._stop = asyncio.Event()
        self._worker = self.runtime.start_worker()
        self._relay_run: Future[None] = self.runtime.loop.submit(self._run_relay())
        self.schedule = ReclusterSchedule(settings)

    async def _run_relay(self) -> None:
        await self.relay.run(self._stop)

    def close(self) -> None:
        self.schedule.close()
        self.runtime.loop.call_soon(self._stop.set)
        self._relay_run.result(timeout=10)
        self._worker.stop(timeout=SHUTDOWN_TIMEOUT_MS)
        self.runtime.close()
