"""The receiving side in an API process: one pub/sub connection per process, subscribed to the
channels someone there watches. Redis in production; in memory in the embedded default, where
the workers run in the same process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from service.live.publisher import researcher_tags
from service.live.topics import SUBSCRIBED, Channels, Topic
from service.live.versions import MemoryVersions
from service.logging import log

PING_INTERVAL_S = 5.0
"""An idle pub/sub connection is pinged this often; two unanswered pings mean it is dead (a
connection can die without a reset, and a subscriber would wait on it forever)."""
RECONNECT_DELAYS_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class Receiver(Protocol):
    """The hub: what a signal source reports to."""

    def signal(self, channel: str, data: bytes) -> None:
        """A message arrived on ``channel``."""

    def confirmed(self, channel: str) -> None:
        """``channel`` is subscribed (again): from now on no message on it is missed, so
        anything read before may be stale."""


class SignalSource(Protocol):
    connections: int
    """Connections made so far (1 + reconnections)."""

    async def start(self, receiver: Receiver) -> None: ...

    def want(self, channel: str) -> None:
        """Subscribe to ``channel``; ``Receiver.confirmed`` follows once it is."""

    def drop(self, channel: str) -> None: ...

    async def close(self) -> None: ...


class RedisSignals:
    """One connection, re-established with the same channels whenever it breaks. redis-py's own
    retries are off: they would reconnect silently, and the messages lost in between would go
    unnoticed. Here every resubscription is confirmed to the receiver, which re-reads."""

    def __init__(self, url: str, channels: Channels) -> None:
        self.client = aioredis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=5
        )
        self.channels = channels
        self.wanted: set[str] = {channels.sessions}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        """Failed attempts since the last connection (how long to wait before the next)."""
        self.connections = 0
        """Connections made so far (1 + reconnections)."""

    async def start(self, receiver: Receiver) -> None:
        self._task = asyncio.create_task(self._run(receiver), name="live-signals")

    def want(self, channel: str) -> None:
        self.wanted.add(channel)
        self._changed.set()

    def drop(self, channel: str) -> None:
        self.wanted.discard(channel)
        self._changed.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def _run(self, receiver: Receiver) -> None:
        while True:
            pubsub = self.client.pubsub()
            try:
                await self._serve(pubsub, receiver)
            except Exception as exc:  # lost (or a bug): never stay without pub/sub
                delay = RECONNECT_DELAYS_S[min(self._failures, len(RECONNECT_DELAYS_S) - 1)]
                self._failures += 1
                expected = isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError))
                log.warning(
                    "live.pubsub_lost", error=repr(exc), retry_in_s=delay, exc_info=not expected
                )
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _serve(self, pubsub: PubSub, receiver: Receiver) -> None:
        subscribed: set[str] = set()
        await self._sync(pubsub, subscribed)
        self._failures = 0
        self.connections += 1
        if self.connections > 1:
            log.info("live.pubsub_restored", channels=len(subscribed))
        writer = asyncio.create_task(self._keep_in_sync(pubsub, subscribed))
        try:
            await self._read(pubsub, receiver, writer)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    async def _sync(self, pubsub: PubSub, subscribed: set[str]) -> None:
        wanted = set(self.wanted)
        new, gone = wanted - subscribed, subscribed - wanted
        if new:
            await pubsub.subscribe(*new)
        if gone:
            await pubsub.unsubscribe(*gone)
        subscribed.difference_update(gone)
        subscribed.update(new)

    async def _keep_in_sync(self, pubsub: PubSub, subscribed: set[str]) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self._sync(pubsub, subscribed)

    async def _read(self, pubsub: PubSub, receiver: Receiver, writer: asyncio.Task[None]) -> None:
        unanswered = 0
        while True:
            if writer.done():
                writer.result()  # the writer's connection error ends this connection too
            message = await pubsub.get_message(timeout=PING_INTERVAL_S)
            if message is None:
                if unanswered >= 2:
                    raise RedisTimeoutError("pub/sub connection stopped answering pings")
                unanswered += 1
                await pubsub.ping()
                continue
            unanswered = 0
            kind = message["type"]
            channel = _text(message["channel"]) if message.get("channel") else ""
            if kind == "message":
                receiver.signal(channel, message["data"])
            elif kind == "subscribe":
                receiver.confirmed(channel)


class MemorySignals:
    """Publisher and signal source in one, for the embedded default: the workers' threads
    publish, the API's event loop receives."""

    def __init__(self, channels: Channels, versions: MemoryVersions) -> None:
        self.channels = channels
        self.versions = versions
        self.wanted: set[str] = {channels.sessions}
        self.connections = 1  # never lost
        self._loop: asyncio.AbstractEventLoop | None = None
        self._receiver: Receiver | None = None

    async def start(self, receiver: Receiver) -> None:
        self._loop = asyncio.get_running_loop()
        self._receiver = receiver

    def want(self, channel: str) -> None:
        self.wanted.add(channel)
        if self._receiver is not None:
            self._receiver.confirmed(channel)

    def drop(self, channel: str) -> None:
        self.wanted.discard(channel)

    async def close(self) -> None:
        self._receiver = None

    def publish(self, changes: Mapping[Topic, Iterable[int]]) -> None:
        tags = researcher_tags(changes)
        if tags:
            self.versions.bump(tags)  # first, as Redis does: see ``service.live.publisher``
        for topic, researcher_ids in changes.items():
            if topic in SUBSCRIBED:
                for researcher_id in set(researcher_ids):
                    self._deliver(self.channels.topic(topic, researcher_id), b"")

    def invalidate(self, tags: Iterable[str]) -> None:
        wanted = set(tags)
        if wanted:
            self.versions.bump(wanted)

    def end_sessions(self, session_ids: Iterable[int]) -> None:
        for session_id in session_ids:
            self._deliver(self.channels.sessions, str(session_id).encode())

    def _deliver(self, channel: str, data: bytes) -> None:
        loop, receiver = self._loop, self._receiver
        if loop is None or receiver is None or channel not in self.wanted:
            return
        with contextlib.suppress(RuntimeError):  # the API's loop has closed: nobody listens
            loop.call_soon_threadsafe(receiver.signal, channel, data)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
