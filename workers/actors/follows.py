"""A follow or unfollow moves the followers counter and the followed researcher's trust."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.researchers.service import researchers
from service.trust.service import trust
from workers.actor import event_actor


@event_actor("follows.created", "follows.deleted")
async def followers_changed(session: AsyncSession, *, researcher_id: int, **_: object) -> None:
    await researchers.recount_followers(session, [researcher_id])
    await trust.mark_stale(session, [researcher_id])
