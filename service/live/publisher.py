"""The publishing side, called after a transaction commits: by the workers for follower counts
and trust, by the API when a session signs out. Synchronous, because the workers call it from
their own event loop threads; the API calls it through ``asyncio.to_thread``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import redis

from service.live.topics import Channels, Topic

Changes = Mapping[Topic, Iterable[int]]
"""Researchers whose watched values changed, by topic."""


class Publisher(Protocol):
    def publish(self, changes: Changes) -> None:
        """Tell every API process that these values changed (after the change committed)."""

    def end_sessions(self, session_ids: Iterable[int]) -> None:
        """Tell every API process to close the sockets these account sessions opened."""


class RedisPublisher:
    def __init__(self, client: redis.Redis, channels: Channels) -> None:
        self.client = client
        self.channels = channels

    def publish(self, changes: Changes) -> None:
        pipe = self.client.pipeline(transaction=False)
        for topic, researcher_ids in changes.items():
            for researcher_id in set(researcher_ids):
                pipe.publish(self.channels.topic(topic, researcher_id), b"")
        if len(pipe):
            pipe.execute()

    def end_sessions(self, session_ids: Iterable[int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for session_id in session_ids:
            pipe.publish(self.channels.sessions, str(session_id))
        if len(pipe):
            pipe.execute()


def redis_publisher(url: str, channels: Channels) -> RedisPublisher:
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return RedisPublisher(client, channels)
