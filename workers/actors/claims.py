"""Claims and vouches change a record's verification level, hence its trust (and, through the
trust refresh, the trust of records that read its level)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.trust.service import trust
from workers.actor import event_actor


@event_actor("claims.requested", "claims.verified", "claims.rejected", "vouches.created")
async def verification_changed(session: AsyncSession, *, researcher_id: int, **_: object) -> None:
    await trust.mark_stale(session, [researcher_id])
