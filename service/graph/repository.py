from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, and_, delete, func, insert, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.db.repository import is_postgresql
from service.graph.clustering import WeightedEdge
from service.graph.models import Cluster, CoauthorEdge
from service.researchers.models import Researcher
from service.works.models import Authorship

EDGE_COLUMNS = ("researcher_id", "coauthor_id", "weight", "joint_works")


def _pairs(work_ids: Sequence[int] | None = None) -> Select[int, int, float, int]:
    """Both directions of every co-author pair of these works (all works when None), with the
    sum of 1/(authors - 1) and the number of joint works."""
    mine = aliased(Authorship)
    theirs = aliased(Authorship)
    authors = select(Authorship.work_id, func.count().label("n")).group_by(Authorship.work_id)
    if work_ids is not None:
        authors = authors.where(Authorship.work_id.in_(work_ids))
    counted = authors.having(func.count() > 1).subquery()
    return (
        select(
            mine.researcher_id,
            theirs.researcher_id,
            func.sum(literal(1.0) / (counted.c.n - 1)),
            func.count(),
        )
        .join(
            theirs,
            and_(theirs.work_id == mine.work_id, theirs.researcher_id != mine.researcher_id),
        )
        .join(counted, counted.c.work_id == mine.work_id)
        .where(literal(True))  # SQLite's upsert needs a WHERE after INSERT ... SELECT ... JOIN
        .group_by(mine.researcher_id, theirs.researcher_id)
    )


class CoauthorGraphRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rebuild_edges(self) -> int:
        """Replace every co-author edge from the authorships, in the database: both directions
        of each pair, with Newman's weight (the rule of ``clustering.coauthor_pairs``; an
        authorship is unique per work and researcher, so a repeated author counts once).
        Returns the number of pairs."""
        await self.session.execute(delete(CoauthorEdge))
        result = await self.session.execute(
            insert(CoauthorEdge).from_select(list(EDGE_COLUMNS), _pairs())
        )
        return int(getattr(result, "rowcount", 0) or 0) // 2

    async def add_work_edges(self, work_ids: Sequence[int]) -> None:
        """Add what new works bring to the edges: each pair of their authors gains
        1/(authors - 1) and a joint work, in both directions, created where missing. Apply it
        once per new work (the caller's processed mark sees to that)."""
        if not work_ids:
            return
        dialect_insert = postgresql.insert if is_postgresql(self.session) else sqlite.insert
        stmt = dialect_insert(CoauthorEdge).from_select(list(EDGE_COLUMNS), _pairs(work_ids))
        stmt = stmt.on_conflict_do_update(
            index_elements=["researcher_id", "coauthor_id"],
            set_={
                "weight": CoauthorEdge.weight + stmt.excluded.weight,
                "joint_works": CoauthorEdge.joint_works + stmt.excluded.joint_works,
            },
        )
        await self.session.execute(stmt)

    async def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see the rebuilt graph. Without it, later statements of the
        same transaction plan with the statistics of the empty tables, and the close-collaborator
        counts join every pair of a cluster's members (minutes at 100k researchers)."""
        if is_postgresql(self.session):
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
