"""A new work moves its authors' works and topics counters, their co-author edges and their
trust (clusters follow the edges in issue 6's incremental Leiden)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.graph.service import coauthor_graph
from service.researchers.service import researchers
from service.works.repository import WorkRepository
from workers.actor import Payload, event_actor


async def authors(session: AsyncSession, payloads: Sequence[Payload]) -> list[int]:
    work_ids = [int(p["work_id"]) for p in payloads]
    by_work = await WorkRepository(session).authorships_by_work(work_ids)
    return sorted({a.researcher_id for work in by_work.values() for a in work})


@event_actor("works.added", touched=authors)
async def works_added(
    session: AsyncSession, payloads: Sequence[Payload], touched: Sequence[int]
) -> None:
    await researchers.recount_work_counters(session, touched)  # the works' authors
    await coauthor_graph.add_work_edges(session, [int(p["work_id"]) for p in payloads])
