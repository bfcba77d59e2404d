"""At most one pending trust refresh at a time: a burst of events asks for it many times and
gets one message. A flag in Redis (shared by every worker process) or in memory (one process)."""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

FLAG_TTL_MS = 10_000
"""A set flag expires on its own, so a lost refresh message cannot block refreshes for long
(the relay's reconciler also sends one while stale rows wait)."""


class Flag(Protocol):
    def acquire(self) -> bool:
        """Set the flag; False when it was already set."""

    def release(self) -> None: ...


class RedisFlag:
    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, b"1", nx=True, px=FLAG_TTL_MS))

    def release(self) -> None:
        self.client.delete(self.key)


class LocalFlag:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expires_at = 0.0

    def acquire(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._expires_at:
                return False
            self._expires_at = now + FLAG_TTL_MS / 1000
            return True

    def release(self) -> None:
        with self._lock:
            self._expires_at = 0.0
