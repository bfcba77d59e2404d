"""Everything live updates need in one API process, on Redis when ``REDIS_URL`` is set, in
memory otherwise (the embedded default, whose workers share the process and so the
publisher)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.live.hub import LiveHub
from service.live.leases import Leases, MemoryLeases, RedisLeases
from service.live.publisher import Publisher, redis_publisher
from service.live.readers import READERS
from service.live.signals import MemorySignals, RedisSignals, SignalSource
from service.live.topics import Channels
from service.live.versions import MemoryVersions, RedisVersions


@dataclass(frozen=True)
class Live:
    hub: LiveHub
    publisher: Publisher
    leases: Leases
    versions: RedisVersions | MemoryVersions
    """What the response cache checks; the publisher bumps the same counters."""

    async def start(self) -> None:
        await self.hub.start()
        await self.leases.start()

    async def close(self) -> None:
        await self.leases.close()
        await self.hub.close()
        await self.versions.close()


def create_live(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Live:
    channels = Channels(settings.broker_namespace)
    source: SignalSource
    publisher: Publisher
    leases: Leases
    versions: RedisVersions | MemoryVersions
    if settings.redis_url:
        source = RedisSignals(settings.redis_url, channels)
        publisher = redis_publisher(settings.redis_url, channels)
        leases = RedisLeases(settings.redis_url, settings.broker_namespace)
        versions = RedisVersions(settings.redis_url, settings.broker_namespace)
    else:
        versions = MemoryVersions()
        source = publisher = MemorySignals(channels, versions)
        leases = MemoryLeases()
    hub = LiveHub(source, channels, sessionmaker, settings.live_resync_interval_s)
    for topic, reader in READERS.items():
        hub.register(topic, reader)
    return Live(hub=hub, publisher=publisher, leases=leases, versions=versions)
