"""The co-author graph: edges from authorships, clusters from Leiden. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.graph.clustering import Clustering, leiden
from service.graph.repository import CoauthorGraphRepository
from service.researchers.repository import ResearcherRepository


class CoauthorGraphService:
    async def rebuild_edges(self, session: AsyncSession) -> int:
        """Recompute every co-author edge from the authorships; returns the number of pairs."""
        return await CoauthorGraphRepository(session).rebuild_edges()

    async def add_work_edges(self, session: AsyncSession, work_ids: Sequence[int]) -> None:
        """Fold new works into the edges incrementally (only the pairs they touch)."""
        await CoauthorGraphRepository(session).add_work_edges(work_ids)

    async def recluster(self, session: AsyncSession, *, seed: int) -> Clustering:
        """Full Leiden over the stored edges. Researchers alone in their community (no
        co-author, or none close) get no cluster."""
        repository = CoauthorGraphRepository(session)
        nodes = await ResearcherRepository(session).all_ids()
        clustering = leiden(nodes, await repository.undirected_edges(), seed=seed)
        groups: dict[int, list[int]] = {}
        for researcher_id, label in clustering.membership.items():
            groups.setdefault(label, []).append(researcher_id)
        await repository.replace_clusters(g for g in groups.values() if len(g) > 1)
        await repository.refresh_statistics()
        return clustering


coauthor_graph = CoauthorGraphService()
