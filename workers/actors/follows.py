"""A follow or unfollow moves the followers counter and the followed researcher's trust."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.researchers.service import researchers
from workers.actor import Payload, event_actor


@event_actor("follows.created")
async def followed(
    session: AsyncSession, payloads: Sequence[Payload], _touched: Sequence[int]
) -> None:
    await researchers.add_followers(session, Counter(int(p["researcher_id"]) for p in payloads))


@event_actor("follows.deleted")
async def unfollowed(
    session: AsyncSession, payloads: Sequence[Payload], _touched: Sequence[int]
) -> None:
    deltas = Counter({int(p["researcher_id"]): 0 for p in payloads})
    deltas.subtract(int(p["researcher_id"]) for p in payloads)
    await researchers.add_followers(session, deltas)
