"""A follow or unfollow moves the followers counter and the followed researcher's trust."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.researchers.service import researchers
from service.trust.service import trust
from workers.actor import event_actor


@event_actor("follows.created")
async def followed(session: AsyncSession, *, researcher_id: int, **_: object) -> None:
    # Stale mark before the researcher's row lock: the trust refresh takes them in this order.
    await trust.mark_stale(session, [researcher_id])
    await researchers.add_followers(session, researcher_id, 1)


@event_actor("follows.deleted")
async def unfollowed(session: AsyncSession, *, researcher_id: int, **_: object) -> None:
    await trust.mark_stale(session, [researcher_id])
    await researchers.add_followers(session, researcher_id, -1)
