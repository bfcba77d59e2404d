"""One hub per API process. Subscribers watch (topic, researcher); the hub keeps each watched
value current and hands it to every watcher. A value is re-read from the database, once per
process and batch, whenever its channel signals a change, whenever its channel is (re)subscribed
(so a pub/sub outage is repaired as soon as the connection is back) and every
``live_resync_interval_s`` (so that even a lost PUBLISH heals). Watchers get only values that
differ from the last one they got; a slow watcher skips to the latest."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.live.signals import SignalSource
from service.live.topics import Channels, Topic
from service.logging import log

V = TypeVar("V")
Key = tuple[Topic, int]

Reader = Callable[[AsyncSession, list[int]], Awaitable[Mapping[int, tuple[Hashable, Any]]]]
"""Reads the current values of researchers: ``{id: (stamp, value)}``, where equal stamps mean
an unchanged value; researchers without a value are left out."""

READ_RETRY_S = 1.0
"""Wait before reading again after the database failed a read."""


class Watcher(Generic[V]):
    """One subscriber's view of a watched value."""

    def __init__(self) -> None:
        self._latest: tuple[Hashable, V] | None = None
        self._changed = asyncio.Event()
        self._given: Hashable = object()

    def offer(self, stamp: Hashable, value: V) -> None:
        self._latest = (stamp, value)
        self._changed.set()

    async def values(self) -> AsyncIterator[V]:
        """The current value as soon as there is one, then each value that differs from the
        last one given."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            if self._latest is None:
                continue
            stamp, value = self._latest
            if stamp != self._given:
                self._given = stamp
                yield value


@dataclass(eq=False)
class Watched:
    watchers: set[Watcher[Any]] = field(default_factory=set)
    stamp: Hashable = None
    value: Any = None
    known: bool = False


class LiveHub:
    def __init__(
        self,
        source: SignalSource,
        channels: Channels,
        sessionmaker: async_sessionmaker[AsyncSession],
        resync_interval_s: float,
    ) -> None:
        self.source = source
        self.channels = channels
        self.sessionmaker = sessionmaker
        self.resync_interval_s = resync_interval_s
        self.readers: dict[Topic, Reader] = {}
        self.session_listeners: set[Callable[[int], None]] = set()
        """Called with the id of every account session that signed out, anywhere."""
        self.reads = 0
        """Batched reads so far (one statement per topic each)."""
        self._watched: dict[Key, Watched] = {}
        self._dirty: set[Key] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def register(self, topic: Topic, reader: Reader) -> None:
        self.readers[topic] = reader

    async def start(self) -> None:
        await self.source.start(self)
        self._tasks.append(asyncio.create_task(self._refresh(), name="live-refresh"))
        if self.resync_interval_s > 0:
            self._tasks.append(asyncio.create_task(self._resync(), name="live-resync"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.source.close()

    @property
    def watched(self) -> int:
        """Values watched in this process."""
        return len(self._watched)

    @property
    def connections(self) -> int:
        """Pub/sub connections made so far (more than one: it reconnected)."""
        return self.source.connections

    def watchers(self, topic: Topic, researcher_id: int) -> int:
        """How many watch this value in this process (identical subscriptions count once)."""
        watched = self._watched.get((topic, researcher_id))
        return len(watched.watchers) if watched is not None else 0

    @contextlib.asynccontextmanager
    async def watch(self, topic: Topic, researcher_id: int) -> AsyncIterator[Watcher[Any]]:
        key = (topic, researcher_id)
        watcher: Watcher[Any] = Watcher()
        watched = self._watched.get(key)
        if watched is None:
            watched = self._watched[key] = Watched()
            self._mark(key)
            self.source.want(self.channels.topic(topic, researcher_id))
        elif watched.known:
            watcher.offer(watched.stamp, watched.value)
        watched.watchers.add(watcher)
        try:
            yield watcher
        finally:
            watched.watchers.discard(watcher)
            if not watched.watchers and self._watched.get(key) is watched:
                del self._watched[key]
                self.source.drop(self.channels.topic(topic, researcher_id))

    # Receiver

    def signal(self, channel: str, data: bytes) -> None:
        if channel == self.channels.sessions:
            with contextlib.suppress(ValueError):
                session_id = int(data)
                for listener in list(self.session_listeners):
                    listener(session_id)
            return
        key = self.channels.parse(channel)
        if key is not None and key in self._watched:
            self._mark(key)

    def confirmed(self, channel: str) -> None:
        self.signal(channel, b"")

    # Reading

    def _mark(self, key: Key) -> None:
        self._dirty.add(key)
        self._wake.set()

    async def _refresh(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            try:
                await self._read(dirty)
            except Exception:
                log.warning("live.read_failed", keys=len(dirty), exc_info=True)
                self._dirty |= dirty
                await asyncio.sleep(READ_RETRY_S)
                self._wake.set()

    async def _read(self, keys: set[Key]) -> None:
        by_topic: dict[Topic, list[int]] = {}
        for topic, researcher_id in keys:
            if (topic, researcher_id) in self._watched:
                by_topic.setdefault(topic, []).append(researcher_id)
        if not by_topic:
            return
        async with self.sessionmaker() as session:
            for topic, ids in by_topic.items():
                values = await self.readers[topic](session, sorted(ids))
                self.reads += 1
                for researcher_id, (stamp, value) in values.items():
                    self._offer((topic, researcher_id), stamp, value)

    def _offer(self, key: Key, stamp: Hashable, value: Any) -> None:
        watched = self._watched.get(key)
        if watched is None or (watched.known and watched.stamp == stamp):
            return
        watched.stamp, watched.value, watched.known = stamp, value, True
        for watcher in watched.watchers:
            watcher.offer(stamp, value)

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.resync_interval_s)
            for key in self._watched:
                self._dirty.add(key)
            self._wake.set()
