"""The co-author graph: edges from authorships, clusters from Leiden, kept current as works
arrive. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.db.repository import chunked
from service.events.service import emit
from service.graph.clustering import groups_of, leiden, match_clusters
from service.graph.local import ClusterTotals, NewCluster, plan_local
from service.graph.neighbourhood import HUBS, RELATIONS, NeighbourhoodRepository
from service.graph.repository import CoauthorGraphRepository
from service.graph.slice import (
    EDGES_PER_NODE,
    EdgeKind,
    GraphSlice,
    NodeKey,
    NodeKind,
    SliceEdge,
    kept_edges,
    most_relevant,
    ranking,
    relevance,
)

CLUSTERS_CHANGED = "clusters.changed"
"""Event: these researchers changed cluster; their and their co-authors' close collaborators
(and so trust) move."""
CHANGED_PER_EVENT = 1_000
NEIGHBOURS_PER_AUTHOR = 4
"""Co-authors of each new work's author that may move with it (the heaviest edges): the rest
of the graph enters the incremental step only through cluster totals."""


@dataclass(frozen=True, slots=True)
class Reclustered:
    clusters: int
    """Clusters (of two or more researchers) after the run."""
    moved: list[int]
    """Researchers whose cluster id changed."""
    modularity: float


class CoauthorGraphService:
    async def rebuild_edges(self, session: AsyncSession) -> int:
        """Recompute every co-author edge from the authorships; returns the number of pairs."""
        repository = CoauthorGraphRepository(session)
        pairs = await repository.rebuild_edges()
        await repository.recount_total_weight()
        return pairs

    async def add_work_edges(self, session: AsyncSession, work_ids: Sequence[int]) -> None:
        """Fold new works into the edges incrementally (only the pairs they touch), and into
        the totals incremental clustering reads (graph weight, cluster strengths)."""
        repository = CoauthorGraphRepository(session)
        await repository.add_work_edges(work_ids)
        await repository.add_to_total_weight(work_ids)
        await repository.add_to_cluster_strengths(work_ids)

    async def refresh_edges(self, session: AsyncSession, researcher_ids: Sequence[int]) -> None:
        """After authorships changed (a work's author list, a merged author record): recount
        the edges among the researchers on both sides of the change, and move the totals
        incremental clustering reads by what changed. The caller holds the graph lock."""
        repository = CoauthorGraphRepository(session)
        await repository.add_to_totals(await repository.recount_edges_among(researcher_ids))

    async def with_coauthors(
        self, session: AsyncSession, researcher_ids: Sequence[int]
    ) -> list[int]:
        """These researchers and all their co-authors, sorted."""
        rows = await CoauthorGraphRepository(session).edges_from(researcher_ids)
        return sorted({*researcher_ids, *(b for _, b, _ in rows)})

    async def lock(self, session: AsyncSession) -> None:
        """Serialise cluster writers; take it before any researcher row lock."""
        await CoauthorGraphRepository(session).lock()

    async def recluster(
        self,
        session: AsyncSession,
        *,
        seed: int,
        announce: bool = True,
        from_scratch: bool = False,
    ) -> Reclustered:
        """Full Leiden over the stored edges, started from the stored clusters (unless
        ``from_scratch``): every researcher may move, clusters may split or merge, but a graph
        that changed a little keeps its partition. From scratch, 200 new works among a million
        researchers moved 986,590 of them between relabelled clusters of the same quality.
        Researchers alone in their community get no cluster; groups keep the id of the
        cluster they mostly continue. With ``announce``, moved researchers are announced by
        ``clusters.changed`` events (``recompute --all`` recounts everything itself)."""
        repository = CoauthorGraphRepository(session)
        stored = await repository.memberships()
        nodes = sorted(stored)
        initial = None if from_scratch else {r: c for r, c in stored.items() if c is not None}
        clustering = leiden(nodes, await repository.all_edges(), seed=seed, initial=initial)
        # Locked only to write: works that arrive meanwhile wait milliseconds, not the whole
        # run. Their incremental moves are overwritten by this run's partition of a slightly
        # older graph; the next run sees their edges.
        await repository.lock()
        current = await repository.memberships()
        previous = {r: current[r] for r in nodes if r in current}
        groups = [[r for r in g if r in previous] for g in groups_of(clustering.membership)]
        moved, clusters = await self._store(session, groups, previous, clustering.strengths)
        await repository.record_recluster(clustering.modularity)
        await repository.refresh_statistics()
        if announce:
            announce_moves(session, moved)
        return Reclustered(clusters=clusters, moved=moved, modularity=clustering.modularity)

    async def recluster_if_due(
        self, session: AsyncSession, *, seed: int, older_than: dt.timedelta
    ) -> Reclustered | None:
        """``recluster`` unless the last one finished less than ``older_than`` ago or another
        is running now (PostgreSQL): the periodic job of every worker asks, one runs."""
        repository = CoauthorGraphRepository(session)
        if not await repository.try_lock_reclustering():
            return None
        last = await repository.reclustered_at()
        if last is not None and utcnow() - last < older_than:
            return None
        return await self.recluster(session, seed=seed)

    async def recluster_around(
        self, session: AsyncSession, researcher_ids: Sequence[int], *, seed: int
    ) -> list[int]:
        """Re-optimise the clusters around these researchers (a new work's authors) from
        their current membership and store the result (``service.graph.local``). Returns the
        researchers whose cluster changed. The caller holds the graph lock and has added the
        work's edges."""
        if not researcher_ids:
            return []
        repository = CoauthorGraphRepository(session)
        hood = await repository.neighbourhood(researcher_ids, NEIGHBOURS_PER_AUTHOR)
        plan = plan_local(hood, total_weight=await repository.total_weight(), seed=seed)
        new_ids = await repository.create_clusters(plan.new_clusters)
        await repository.set_memberships(
            {
                node: new_ids[c.index] if isinstance(c, NewCluster) else c
                for node, c in plan.assignment.items()
            }
        )
        moved = set(plan.assignment)
        for absorbed, keeper in sorted(plan.merges.items()):
            moved.update(await repository.merge_cluster(absorbed, keeper))
        await repository.set_cluster_totals(plan.totals)
        await repository.delete_empty_clusters(plan.deleted)
        return sorted(moved)

    async def _store(
        self,
        session: AsyncSession,
        groups: Iterable[list[int]],
        previous: Mapping[int, int | None],
        strengths: Mapping[int, float],
    ) -> tuple[list[int], int]:
        """Write a partition of the researchers in ``previous`` (their current cluster ids):
        groups keep matching cluster ids, new groups get new clusters, single researchers
        none; emptied clusters go. Returns the moved researchers and the number of clusters."""
        repository = CoauthorGraphRepository(session)
        clustered = [group for group in groups if len(group) > 1]
        kept = match_clusters(clustered, previous)
        totals = [
            ClusterTotals(len(group), sum(strengths.get(r, 0.0) for r in group))
            for group in clustered
        ]
        new_ids = iter(
            await repository.create_clusters(
                [t for t, k in zip(totals, kept, strict=True) if k is None]
            )
        )
        assigned: dict[int, int | None] = dict.fromkeys(previous)
        kept_totals: dict[int, ClusterTotals] = {}
        for group, cluster_id, group_totals in zip(clustered, kept, totals, strict=True):
            if cluster_id is None:
                cluster_id = next(new_ids)
            else:
                kept_totals[cluster_id] = group_totals
            for researcher_id in group:
                assigned[researcher_id] = cluster_id
        changes = {r: c for r, c in assigned.items() if c != previous[r]}
        await repository.set_memberships(changes)
        await repository.set_cluster_totals(kept_totals)
        vacated = {c for c in previous.values() if c is not None} - set(kept_totals)
        await repository.delete_empty_clusters(sorted(vacated))
        return sorted(changes), len(clustered)


class GraphSliceService:
    def __init__(
        self,
        repository: Callable[[AsyncSession], NeighbourhoodRepository] = NeighbourhoodRepository,
    ) -> None:
        self.repository = repository

    async def graph_slice(
        self, session: AsyncSession, center: NodeKey, *, depth: int, limit: int, fanout: int
    ) -> GraphSlice:
        """The nodes within ``depth`` hops of ``center`` and the edges among them, ranked by
        relevance and cut at ``limit``. The center contributes at most ``fanout`` neighbours per
        relation; each later hop expands the most relevant ``limit / 2**hop`` nodes found so
        far, each with at most ``fanout / 2**hop`` neighbours per relation, except topics and
        institutions (``HUBS``), which only the center expands. So the work done
        depends on ``depth``, ``limit`` and ``fanout``, never on the graph's size.
        ``truncated`` says that something was left out: a node cut, a capped supernode, a hop
        not expanded in full."""
        repository = self.repository(session)
        found: dict[tuple[NodeKey, NodeKey, EdgeKind], SliceEdge] = {}
        seen = {center}
        frontier = [center]
        truncated = False
        for hop in range(depth):
            # Farther hops matter less to the ranking: each expands fewer nodes, less widely.
            hop_fanout = max(1, fanout >> hop)
            for kind in NodeKind:
                ids = sorted(node_id for k, node_id in frontier if k is kind)
                if not ids:
                    continue
                if hop and kind in HUBS:
                    truncated = True  # reached hubs are not expanded
                    continue
                for relation in RELATIONS[kind]:
                    edges, capped = await repository.neighbours(relation, ids, hop_fanout)
                    truncated = truncated or capped
                    found.update((e.key, e) for e in edges)
            reached = {n for e in found.values() for n in (e.source, e.target)} - seen
            seen |= reached
            if hop + 1 < depth:
                scores = relevance(center, found.values())
                ranked = sorted(reached, key=lambda n: ranking(n, scores.get(n, 0.0)))
                width = max(1, limit >> (hop + 1))
                truncated = truncated or len(ranked) > width
                frontier = ranked[:width]  # empty when nothing new was reached: done
        scores = relevance(center, found.values())
        kept = most_relevant(center, scores, limit)
        truncated = truncated or len(scores) > len(kept)
        among = await repository.edges_among([node for node, _ in kept])
        edges, cut = kept_edges(among, [n for n, _ in kept], EDGES_PER_NODE * limit)
        return GraphSlice(nodes=kept, edges=edges, truncated=truncated or cut, read=frozenset(seen))


graph_slices = GraphSliceService()


def announce_moves(session: AsyncSession, moved: Sequence[int]) -> None:
    for batch in chunked(moved, CHANGED_PER_EVENT):
        emit(session, CLUSTERS_CHANGED, researcher_ids=batch)


coauthor_graph = CoauthorGraphService()
