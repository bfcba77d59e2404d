from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.graph.clustering import PairStats, WeightedEdge
from service.graph.models import Cluster, CoauthorEdge
from service.researchers.models import Researcher


class CoauthorGraphRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_edges(self, pairs: Mapping[tuple[int, int], PairStats]) -> None:
        """Replace every co-author edge; each pair is stored in both directions."""
        await self.session.execute(delete(CoauthorEdge))
        rows = []
        for (a, b), stats in pairs.items():
            rows.append(
                {
                    "researcher_id": a,
                    "coauthor_id": b,
                    "weight": stats.weight,
                    "joint_works": stats.joint_works,
                }
            )
            rows.append(
                {
                    "researcher_id": b,
                    "coauthor_id": a,
                    "weight": stats.weight,
                    "joint_works": stats.joint_works,
                }
            )
        if rows:
            await self.session.execute(insert(CoauthorEdge), rows)

    async def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see the rebuilt graph. Without it, later statements of the
        same transaction plan with the statistics of the empty tables, and the close-collaborator
        counts join every pair of a cluster's members (minutes at 100k researchers)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("ANALYZE coauthor_edges, researchers, clusters"))

    async def undirected_edges(self) -> list[WeightedEdge]:
        stmt = select(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight)
        stmt = stmt.where(CoauthorEdge.researcher_id < CoauthorEdge.coauthor_id)
        return list(await self.session.execute(stmt))

    async def replace_clusters(self, groups: Iterable[list[int]]) -> None:
        """Replace every cluster: one row per group of researchers, memberships set on them.
        Researchers in no group get no cluster."""
        await self.session.execute(update(Researcher).values(cluster_id=None))
        await self.session.execute(delete(Cluster))
        groups = list(groups)
        if not groups:
            return
        ids = (
            await self.session.scalars(
                insert(Cluster).returning(Cluster.id, sort_by_parameter_order=True),
                [{"size": len(group)} for group in groups],
            )
        ).all()
        memberships = [
            {"id": researcher_id, "cluster_id": cluster_id}
            for cluster_id, group in zip(ids, groups, strict=True)
            for researcher_id in group
        ]
        await self.session.execute(update(Researcher), memberships)
