"""Rate limits checked inside resolvers, so every alias of a mutation counts. Redis storage when
``REDIS_URL`` is set (shared by every API process), memory in the embedded default."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.config import Settings
from service.errors import RateLimited


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, rule: str, *key: str) -> None:
        """Count one use of ``rule`` (``"5/minute"``) for ``key``; RATE_LIMITED over it, with
        ``retryAfter`` in seconds."""
        item = parse(rule)
        if await self.limiter.hit(item, *key):
            return
        stats = await self.limiter.get_window_stats(item, *key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Too many attempts; try again in {retry_after} s.", retryAfter=retry_after
        )


def create_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url:
        return RateLimiter(
            RedisStorage(
                settings.redis_url,
                implementation="redispy",
                key_prefix="bzpeer-rl",
                # limits' client does not retry: after a Redis restart the first request
                # on each pooled connection would fail on its dead socket.
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),  # type: ignore[arg-type]
                retry_on_error=[RedisConnectionError, RedisTimeoutError],  # type: ignore[arg-type]
                socket_connect_timeout=5,
                socket_timeout=5,
            )
        )
    return RateLimiter(MemoryStorage())
