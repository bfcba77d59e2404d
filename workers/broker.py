"""The Dramatiq broker: Redis in production, the in-memory stub broker in the embedded default.
Either way the same actors run on it (``workers/runtime.py``)."""

from __future__ import annotations

import redis
from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from service.config import Settings
from workers.doorbell import DoorbellRedisBroker, RingOnEnqueue

EVENTS_QUEUE = "events"
"""Domain events sent by the relay."""
DERIVED_QUEUE = "derived"
"""Coalesced recomputes (trust refresh) that events request."""


def broker_middleware(settings: Settings) -> list[Middleware]:
    return [
        AgeLimit(),
        TimeLimit(time_limit=settings.event_time_limit_ms),
        ShutdownNotifications(),
        Retries(
            max_retries=settings.event_max_retries,
            min_backoff=settings.event_min_backoff_ms,
            max_backoff=settings.event_max_backoff_ms,
        ),
        CurrentMessage(),
    ]


def create_broker(settings: Settings) -> Broker:
    """Redis when ``REDIS_URL`` is set, else the stub broker (one process only)."""
    middleware = broker_middleware(settings)
    if settings.redis_url:
        # Our own client: given a URL, Dramatiq builds a pool that ignores client options.
        client = redis.Redis.from_url(
            settings.redis_url,
            # Without timeouts, a Redis restart leaves the client hanging on a dead socket.
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=10,
            # Every worker thread may talk to Redis at once (retries enqueue from them);
            # redis-py's default pool of 100 would raise "Too many connections".
            max_connections=settings.worker_threads + 32,
        )
        return DoorbellRedisBroker(
            client=client,
            middleware=[*middleware, RingOnEnqueue(client, settings.broker_namespace)],
            namespace=settings.broker_namespace,
            heartbeat_timeout=settings.worker_heartbeat_timeout_ms,
            maintenance_chance=settings.worker_maintenance_chance,
        )
    return StubBroker(middleware=middleware)
