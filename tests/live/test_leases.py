"""Connection caps across API processes, on real Redis servers: two lease holders (two API
processes) share one count; a Redis restart loses nothing for long."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from service.live.leases import RedisLeases
from tests.events.private_servers import PrivateRedis

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


def test_two_processes_share_one_cap() -> None:
    namespace = f"bzpeer-test-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        a, b = RedisLeases(MACHINE_REDIS, namespace), RedisLeases(MACHINE_REDIS, namespace)
        try:
            first = await a.acquire("account:1", 2)
            second = await b.acquire("account:1", 2)
            assert first and second
            assert await a.acquire("account:1", 2) is None
            assert await b.acquire("account:2", 2) is not None  # another owner
            await a.release("account:1", first)
            assert await b.acquire("account:1", 2) is not None
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


@pytest.mark.timeout(60)
def test_a_redis_restart_is_made_good_by_renewal(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path / "redis")
    server.start()

    async def run() -> None:
        leases = RedisLeases(server.url(), "bzpeer-test")
        other = RedisLeases(server.url(), "bzpeer-test")
        try:
            assert await leases.acquire("account:1", 2) is not None
            server.kill()
            # Redis away: the socket is let in, uncounted for now.
            assert await leases.acquire("account:1", 2) is not None
            server.start()  # empty
            await leases.renew()
            # Both places are held again: another process cannot take a third.
            assert await other.acquire("account:1", 2) is None
        finally:
            await leases.close()
            await other.close()

    try:
        asyncio.run(run())
    finally:
        server.close()
