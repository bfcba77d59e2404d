"""A new work moves its authors' works and topics counters, their co-author edges, the
clusters around them, their close collaborators and their trust. A work whose author list or
topics changed (a newer record imported, a merged author or work) moves the same things for the
authors it had and the authors it has."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.graph.service import announce_moves, coauthor_graph
from service.researchers.service import researchers
from service.works.repository import WorkRepository
from workers.actor import Batch, Payload, event_actor


async def authors(session: AsyncSession, payloads: Sequence[Payload]) -> list[int]:
    work_ids = [int(p["work_id"]) for p in payloads]
    by_work = await WorkRepository(session).authorships_by_work(work_ids)
    return sorted({a.researcher_id for work in by_work.values() for a in work})


@event_actor("works.added", touched=authors, order=-1)
async def works_added(session: AsyncSession, batch: Batch) -> None:
    work_ids = [int(p["work_id"]) for p in batch.payloads]
    await coauthor_graph.lock(session)  # first: before the recount's researcher row locks
    await coauthor_graph.add_work_edges(session, work_ids)
    moved = await coauthor_graph.recluster_around(
        session, batch.touched, seed=batch.settings.cluster_seed
    )
    # Counts after the clusters: the authors' close collaborators depend on both.
    await researchers.add_works(session, work_ids, batch.touched)
    announce_moves(session, moved)


async def authors_before_and_after(session: AsyncSession, payloads: Sequence[Payload]) -> list[int]:
    now = await authors(session, payloads)
    return sorted({*now, *(int(r) for p in payloads for r in p.get("authors_before", ()))})


@event_actor("works.changed", touched=authors_before_and_after, order=-1)
async def works_changed(session: AsyncSession, batch: Batch) -> None:
    await coauthor_graph.lock(session)  # first: before the recount's researcher row locks
    await coauthor_graph.refresh_edges(session, batch.touched)
    moved = await coauthor_graph.recluster_around(
        session, batch.touched, seed=batch.settings.cluster_seed
    )
    await researchers.refresh_works(session, batch.touched)
    announce_moves(session, moved)
