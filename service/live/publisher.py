"""The publishing side, called after a transaction commits: by the workers for follower counts,
trust and whatever else their events changed, by the relay and the API for the changes their
events name, by the API when a session signs out. Synchronous, because the workers call it from
their own event loop threads; the API calls it through ``asyncio.to_thread``.

One call does both things a change needs: it bumps the change versions the response cache
checks (``service.live.versions``), then publishes to the subscribers' channels, in one
pipeline: a subscriber told of a change never finds a cached answer older than it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import redis

from service.live.topics import SUBSCRIBED, Channels, Topic
from service.live.versions import VersionKeys, bump_in

Changes = Mapping[Topic, Iterable[int]]
"""Researchers whose watched values changed, by topic."""


def researcher_tags(changes: Changes) -> set[str]:
    return {f"Researcher:{r}" for ids in changes.values() for r in ids}


class Publisher(Protocol):
    def publish(self, changes: Changes) -> None:
        """Tell every API process that these values changed (after the change committed)."""

    def invalidate(self, tags: Iterable[str]) -> None:
        """Bump the change versions of these entities (``Type:id``, or ``*``) after a commit."""

    def end_sessions(self, session_ids: Iterable[int]) -> None:
        """Tell every API process to close the sockets these account sessions opened."""


class RedisPublisher:
    def __init__(self, client: redis.Redis, channels: Channels) -> None:
        self.client = client
        self.channels = channels
        self.keys = VersionKeys(channels.namespace)

    def publish(self, changes: Changes) -> None:
        tags = researcher_tags(changes)
        if not tags:
            return
        pipe = self.client.pipeline(transaction=False)
        bump_in(pipe, self.keys, tags)
        for topic, researcher_ids in changes.items():
            if topic in SUBSCRIBED:
                for researcher_id in set(researcher_ids):
                    pipe.publish(self.channels.topic(topic, researcher_id), b"")
        pipe.execute()

    def invalidate(self, tags: Iterable[str]) -> None:
        wanted = set(tags)
        if wanted:
            pipe = self.client.pipeline(transaction=False)
            bump_in(pipe, self.keys, wanted)
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
