"""Researchers who changed cluster change their own close collaborators and their co-authors'
(a close collaborator is a co-author in the same cluster), and so the trust of both."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.graph.service import CLUSTERS_CHANGED, coauthor_graph
from service.researchers.service import researchers
from workers.actor import Batch, Payload, event_actor


async def moved_and_coauthors(session: AsyncSession, payloads: Sequence[Payload]) -> list[int]:
    moved = {int(r) for p in payloads for r in p["researcher_ids"]}
    return await coauthor_graph.with_coauthors(session, sorted(moved))


@event_actor(CLUSTERS_CHANGED, touched=moved_and_coauthors)
async def clusters_changed(session: AsyncSession, batch: Batch) -> None:
    await researchers.recount_close_collaborators(session, batch.touched)
