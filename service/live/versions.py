"""Change versions: a counter per entity (``Researcher:12``, ``Work:5``, ``*`` for everything)
that every committed change to what the entity shows increments, plus one generation counter
that every change increments. The response cache (``service.graphql.response_cache``) checks an
answer's versions on every hit and stores an answer only when no change committed while it was
read. In Redis (every process of a deployment sees the same counters) or in memory (the embedded
default, whose workers share the API's process).

Writers bump after their commit, in the same call that tells subscribers (``Publisher``), so an
API process never answers from the cache what a finished change made stale. A Redis restart
forgets the counters: the epoch key, new after a restart, makes every answer stored before it
unusable."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis
import redis.asyncio as aioredis

EVERYTHING = "*"
"""The tag every cached answer carries: bumped by changes too broad to name (an import)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    epoch: str
    generation: int
    versions: tuple[int, ...]
    """Of the tags asked for, in their order (0: never bumped)."""


class Versions(Protocol):
    async def snapshot(self, tags: Sequence[str]) -> Snapshot | None:
        """The counters now, or None when they cannot be read (then nothing is cached)."""

    def bump(self, tags: Iterable[str]) -> None:
        """After a commit: increment these tags and the generation."""


@dataclass(frozen=True, slots=True)
class VersionKeys:
    namespace: str

    @property
    def epoch(self) -> str:
        return f"{self.namespace}:cache:epoch"

    @property
    def generation(self) -> str:
        return f"{self.namespace}:cache:generation"

    def tag(self, tag: str) -> str:
        return f"{self.namespace}:cache:v:{tag}"


def bump_in(pipe: redis.client.Pipeline, keys: VersionKeys, tags: Iterable[str]) -> None:
    """Queue the increments of a change on a pipeline (the publisher's, before its PUBLISHes:
    a subscriber told of a change finds the versions already bumped). The generation first:
    other clients' commands may run between a plain pipeline's, and an answer computed from
    before the change must never be stored next to the bumped versions of its tags."""
    pipe.incr(keys.generation)
    for tag in set(tags):
        pipe.incr(keys.tag(tag))


class RedisVersions:
    """Reads for the API's event loop; ``bump`` for the API's mutations (from a thread)."""

    def __init__(self, url: str, namespace: str) -> None:
        self.keys = VersionKeys(namespace)
        self.reader = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.writer = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    async def snapshot(self, tags: Sequence[str]) -> Snapshot | None:
        keys = [self.keys.epoch, self.keys.generation, *(self.keys.tag(t) for t in tags)]
        try:
            values = await self.reader.mget(keys)
            if values[0] is None:  # a new (or restarted) Redis: start an epoch, cache later
                await self.reader.set(self.keys.epoch, uuid.uuid4().hex, nx=True)
                return None
        except (redis.RedisError, OSError):
            return None
        epoch, generation, *versions = values
        return Snapshot(
            epoch=epoch.decode() if isinstance(epoch, bytes) else str(epoch),
            generation=int(generation or 0),
            versions=tuple(int(v or 0) for v in versions),
        )

    def bump(self, tags: Iterable[str]) -> None:
        pipe = self.writer.pipeline(transaction=True)
        bump_in(pipe, self.keys, tags)
        pipe.execute()

    async def close(self) -> None:
        await self.reader.aclose()
        self.writer.close()


class MemoryVersions:
    """The embedded default's: one process, its workers on other threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._generation = 0
        self.epoch = uuid.uuid4().hex

    async def snapshot(self, tags: Sequence[str]) -> Snapshot | None:
        with self._lock:
            versions = tuple(self._versions.get(t, 0) for t in tags)
            return Snapshot(self.epoch, self._generation, versions)

    def bump(self, tags: Iterable[str]) -> None:
        with self._lock:
            for tag in set(tags):
                self._versions[tag] = self._versions.get(tag, 0) + 1
            self._generation += 1

    async def close(self) -> None:
        return None
