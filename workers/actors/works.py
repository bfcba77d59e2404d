"""A new work moves its authors' works and topics counters and their trust (co-author edges and
clusters follow in the graph actors)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.researchers.service import researchers
from service.trust.service import trust
from service.works.repository import WorkRepository
from workers.actor import event_actor


@event_actor("works.added")
async def work_added(session: AsyncSession, *, work_id: int, **_: object) -> None:
    authorships = (await WorkRepository(session).authorships_by_work([work_id])).get(work_id, [])
    author_ids = sorted({a.researcher_id for a in authorships})
    await trust.mark_stale(session, author_ids)  # before the row locks, as in follows
    await researchers.recount_work_counters(session, author_ids)
