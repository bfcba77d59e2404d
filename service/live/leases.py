"""Caps on open WebSocket connections per owner (an account, an API key, or the address of an
anonymous client), across every API process. Each connection holds a lease in a sorted set
per owner, scored by its expiry; live processes renew their leases, so a process that dies
frees its connections' places within ``LEASE_TTL_S``."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.logging import log

LEASE_TTL_S = 60.0
RENEW_EVERY_S = LEASE_TTL_S / 3

# KEYS[1] the owner's set; ARGV: now, expiry, limit, connection id. Drops expired leases, then
# takes a place if one is free: 1, else 0.
ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(ARGV[2]) - tonumber(ARGV[1])) * 1000))
return 1
"""


class Leases(Protocol):
    async def acquire(self, owner: str, limit: int) -> str | None:
        """A lease id when ``owner`` has fewer than ``limit`` connections, else None."""

    async def release(self, owner: str, lease: str) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class MemoryLeases:
    """One process (the embedded default): a count per owner."""

    def __init__(self) -> None:
        self.held: dict[str, set[str]] = {}

    async def acquire(self, owner: str, limit: int) -> str | None:
        held = self.held.setdefault(owner, set())
        if len(held) >= limit:
            return None
        lease = uuid.uuid4().hex
        held.add(lease)
        return lease

    async def release(self, owner: str, lease: str) -> None:
        held = self.held.get(owner)
        if held is not None:
            held.discard(lease)
            if not held:
                del self.held[owner]

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisLeases:
    def __init__(self, url: str, namespace: str) -> None:
        self.client = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.namespace = namespace
        self.mine: dict[str, set[str]] = {}
        self._acquire = self.client.register_script(ACQUIRE)
        self._renewal: asyncio.Task[None] | None = None

    def _key(self, owner: str) -> str:
        return f"{self.namespace}:ws:{owner}"

    async def acquire(self, owner: str, limit: int) -> str | None:
        lease = uuid.uuid4().hex
        now = time.time()
        try:
            taken = await self._acquire(
                keys=[self._key(owner)], args=[now, now + LEASE_TTL_S, limit, lease]
            )
        except (RedisError, OSError):
            # Fail open: while Redis is away the cap goes uncounted rather than every socket
            # refused; the renewal registers this lease once Redis is back.
            log.warning("live.lease_unavailable", owner=owner, exc_info=True)
            taken = True
        if not taken:
            return None
        self.mine.setdefault(owner, set()).add(lease)
        return lease

    async def release(self, owner: str, lease: str) -> None:
        held = self.mine.get(owner)
        if held is not None:
            held.discard(lease)
            if not held:
                del self.mine[owner]
        try:
            await self.client.zrem(self._key(owner), lease)
        except Exception:  # Redis is away: the lease expires on its own
            log.warning("live.lease_not_released", owner=owner, exc_info=True)

    async def start(self) -> None:
        self._renewal = asyncio.create_task(self._renew(), name="live-lease-renewal")

    async def close(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
        await self.client.aclose()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await self.renew()
            except Exception:
                log.warning("live.lease_renewal_failed", exc_info=True)

    async def renew(self) -> None:
        """Push every held lease's expiry out, adding back any a Redis restart lost."""
        expiry = time.time() + LEASE_TTL_S
        held = {owner: set(leases) for owner, leases in self.mine.items()}
        pipe = self.client.pipeline(transaction=False)
        for owner, leases in held.items():
            pipe.zadd(self._key(owner), dict.fromkeys(leases, expiry))
            pipe.pexpire(self._key(owner), int(LEASE_TTL_S * 1000))
        await pipe.execute()
        # Released while the pipeline ran: the ZADD above may have put them back.
        pipe = self.client.pipeline(transaction=False)
        for owner, leases in held.items():
            gone = leases - self.mine.get(owner, set())
            if gone:
                pipe.zrem(self._key(owner), *gone)
        if len(pipe):
            await pipe.execute()
