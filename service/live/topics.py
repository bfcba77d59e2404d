"""What subscribers can watch, and the pub/sub channel names that carry it. A message on a
topic's channel says only "this changed": the receiving process reads the value itself, so a
message that arrives late or twice can never leave a subscriber with an older value."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Topic(enum.StrEnum):
    FOLLOWERS = "followers"
    """A researcher's follower count."""
    TRUST = "trust"
    """A researcher's current trust snapshot."""
    RECORD = "record"
    """Anything else shown about a researcher (its works, topics, clusters, counters): no one
    subscribes to it; it bumps the researcher's change version (``service.live.versions``)."""


SUBSCRIBED = frozenset({Topic.FOLLOWERS, Topic.TRUST})
"""Topics with subscribers: their changes are published on their channels."""


@dataclass(frozen=True, slots=True)
class Channels:
    """Channel names under one deployment's namespace (the broker's, so deployments sharing a
    Redis stay apart)."""

    namespace: str

    def topic(self, topic: Topic, researcher_id: int) -> str:
        return f"{self.namespace}:live:{topic}:{researcher_id}"

    @property
    def sessions(self) -> str:
        """Carries the ids of account sessions that ended (signed out)."""
        return f"{self.namespace}:live:sessions"

    def parse(self, channel: str) -> tuple[Topic, int] | None:
        """The (topic, researcher id) a topic channel names; None for any other channel."""
        prefix = f"{self.namespace}:live:"
        if not channel.startswith(prefix):
            return None
        topic, _, researcher_id = channel[len(prefix) :].partition(":")
        if topic not in Topic.__members__.values() or not researcher_id.isdigit():
            return None
        return Topic(topic), int(researcher_id)
