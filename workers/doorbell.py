# mypy: disallow-untyped-calls=False
"""A doorbell for idle Redis consumers. Dramatiq's Redis consumer polls its queue when it finds
it empty, backing off up to its timeout: short for latency (``WORKER_POLL_MS``), so an idle
worker asked Redis about a hundred times a second. Here every enqueue in the namespace also
publishes on a channel (``RingOnEnqueue``), and an idle consumer waits for that ring (or a
second, should a ring be lost) instead of polling: idle is quiet, and a message is fetched as
soon as it is announced rather than at the next poll."""

from __future__ import annotations

import heapq
import threading
import time
from typing import Any

import redis
from dramatiq import Broker, Message
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware

from service.logging import log

QUIET_WAIT_S = 1.0
"""Longest wait for a ring before looking at the queue anyway (a lost ring costs this)."""


def channel(namespace: str) -> str:
    return f"{namespace}:doorbell"


class RingOnEnqueue(Middleware):
    """Announce each enqueued message on the namespace's channel (one PUBLISH)."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.channel = channel(namespace)

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        try:
            self.client.publish(self.channel, message.queue_name)
        except redis.RedisError:  # the consumers poll each second without it
            log.warning("doorbell.ring_failed", exc_info=True)


class Doorbell:
    """The rings of one namespace, heard by one thread per process; consumers wait on it."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.channel = channel(namespace)
        self.rings = 0
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._listen, name="doorbell", daemon=True)
            self.thread.start()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until a ring after ``seen`` (or ``timeout``); the ring count now."""
        with self.changed:
            self.changed.wait_for(lambda: self.rings != seen, timeout=timeout)
            return self.rings

    def _ring(self) -> None:
        with self.changed:
            self.rings += 1
            self.changed.notify_all()

    def _listen(self) -> None:
        while True:
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                self._ring()  # rings may have been missed while (re)subscribing: look now
                while True:
                    message = pubsub.get_message(timeout=QUIET_WAIT_S)  # None when quiet
                    if message is not None and message.get("type") == "message":
                        self._ring()
            except redis.RedisError:
                log.warning("doorbell.listen_failed", exc_info=True)
                time.sleep(QUIET_WAIT_S)


class DoorbellConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer that, finding its queue empty, waits for the doorbell."""

    def __init__(self, *args: Any, doorbell: Doorbell, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.doorbell = doorbell
        self.etas: list[int] = []
        """When the delayed messages handed out fall due (ms since the epoch): the consumer
        thread moves them to the workers between two calls, so a wait must end by then."""

    def __next__(self) -> Any:
        if not self.message_cache and self.outstanding_message_count < self.prefetch:
            seen = self.doorbell.rings
            try:
                messages = self.broker.do_fetch(
                    self.queue_name, self.prefetch - self.outstanding_message_count
                )
            except redis.ConnectionError as lost:
                raise ConnectionClosed(lost) from None
            if not messages:
                # Empty: wait for a ring after the fetch began (an enqueue since rang it).
                self.doorbell.wait(seen, self._quiet_wait())
                return None
            self.message_cache = messages
        proxy = super().__next__()
        eta = proxy.options.get("eta") if proxy is not None else None
        if isinstance(eta, int):
            heapq.heappush(self.etas, eta)
        return proxy

    def _quiet_wait(self) -> float:
        now = time.time() * 1000
        while self.etas and self.etas[0] <= now:
            heapq.heappop(self.etas)
        return min(QUIET_WAIT_S, (self.etas[0] - now) / 1000) if self.etas else QUIET_WAIT_S


class DoorbellRedisBroker(RedisBroker):
    """Dramatiq's Redis broker whose consumers wait for the doorbell when idle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.doorbell = Doorbell(self.client, self.namespace)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        self.doorbell.start()
        return DoorbellConsumer(self, queue_name, prefetch, timeout, doorbell=self.doorbell)
