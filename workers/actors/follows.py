"""A follow or unfollow moves the followers counter and the followed researcher's trust."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession

from service.live.topics import Topic
from service.researchers.service import researchers
from workers.actor import Batch, event_actor


@event_actor("follows.created")
async def followed(session: AsyncSession, batch: Batch) -> None:
    deltas = Counter(int(p["researcher_id"]) for p in batch.payloads)
    await researchers.add_followers(session, deltas)
    batch.changed(Topic.FOLLOWERS, deltas)


@event_actor("follows.deleted")
async def unfollowed(session: AsyncSession, batch: Batch) -> None:
    deltas = Counter({int(p["researcher_id"]): 0 for p in batch.payloads})
    deltas.subtract(int(p["researcher_id"]) for p in batch.payloads)
    await researchers.add_followers(session, deltas)
    batch.changed(Topic.FOLLOWERS, deltas)
