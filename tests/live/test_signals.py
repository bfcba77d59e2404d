"""The Redis signal source on its own, against real Redis servers: channels come and go while
messages flow, and a restart re-subscribes every wanted channel and says so."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from service.live.signals import RedisSignals
from service.live.topics import Channels, Topic
from tests.events.private_servers import PrivateRedis

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


class Recorder:
    def __init__(self) -> None:
        self.signals: list[str] = []
        self.confirmations: list[str] = []
        self.changed = asyncio.Event()

    def signal(self, channel: str, data: bytes) -> None:
        self.signals.append(channel)
        self.changed.set()

    def confirmed(self, channel: str) -> None:
        self.confirmations.append(channel)
        self.changed.set()

    async def until(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not check():
                self.changed.clear()
                await self.changed.wait()


async def publish(url: str, *channels: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        for channel in channels:
            await client.publish(channel, b"")
    finally:
        await client.aclose()


def test_channels_come_and_go_while_messages_flow() -> None:
    channels = Channels(f"bzpeer-test-{uuid.uuid4().hex[:8]}")
    wanted = [channels.topic(Topic.FOLLOWERS, i) for i in range(200)]

    async def run() -> None:
        source, recorder = RedisSignals(MACHINE_REDIS, channels), Recorder()
        await source.start(recorder)
        try:
            for channel in wanted:
                source.want(channel)
            await recorder.until(lambda: set(wanted) <= set(recorder.confirmations))
            for channel in wanted[100:]:
                source.drop(channel)
            await asyncio.sleep(0.2)  # the UNSUBSCRIBE goes out
            await publish(MACHINE_REDIS, *wanted)
            await recorder.until(lambda: len(recorder.signals) >= 100)
            await asyncio.sleep(0.2)
            assert sorted(recorder.signals) == sorted(wanted[:100])
        finally:
            await source.close()

    asyncio.run(run())


@pytest.mark.timeout(60)
def test_a_restart_resubscribes_and_confirms_every_wanted_channel(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    channels = Channels("bzpeer-test")
    wanted = [channels.topic(Topic.TRUST, i) for i in range(10)]

    async def run() -> None:
        source, recorder = RedisSignals(server.url(), channels), Recorder()
        await source.start(recorder)
        try:
            for channel in wanted:
                source.want(channel)
            await recorder.until(lambda: set(wanted) <= set(recorder.confirmations))
            assert source.connections == 1
            recorder.confirmations.clear()
            await asyncio.to_thread(server.restart)
            # Every channel confirmed again: the hub re-reads what it may have missed.
            await recorder.until(lambda: set(wanted) <= set(recorder.confirmations))
            assert source.connections == 2
            await publish(server.url(), wanted[3])
            await recorder.until(lambda: recorder.signals == [wanted[3]])
        finally:
            await source.close()

    try:
        asyncio.run(run())
    finally:
        server.close()
