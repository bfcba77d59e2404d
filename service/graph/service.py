"""The co-author graph: edges from authorships, clusters from Leiden, kept current as works
arrive. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.db.repository import chunked
from service.events.service import emit
from service.graph.clustering import (
    WeightedEdge,
    groups_of,
    leiden,
    match_clusters,
    reoptimise,
)
from service.graph.neighbourhood import RELATIONS, NeighbourhoodRepository
from service.graph.repository import CoauthorGraphRepository
from service.graph.slice import (
    EdgeKind,
    GraphSlice,
    NodeKey,
    NodeKind,
    SliceEdge,
    kept_edges,
    most_relevant,
    relevance,
)

CLUSTERS_CHANGED = "clusters.changed"
"""Event: these researchers changed cluster; their and their co-authors' close collaborators
(and so trust) move."""
CHANGED_PER_EVENT = 1_000
SCOPE_LIMIT = 50_000
"""Researchers beyond which a new work's clusters are left to the next full recluster: the
incremental step loads every edge of its scope."""


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
        """Fold new works into the edges incrementally (only the pairs they touch)."""
        repository = CoauthorGraphRepository(session)
        await repository.add_work_edges(work_ids)
        await repository.add_to_total_weight(work_ids)

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
        self, session: AsyncSession, *, seed: int, announce: bool = True
    ) -> Reclustered:
        """Full Leiden over the stored edges. Researchers alone in their community (no
        co-author, or none close) get no cluster; groups keep the id of the cluster they mostly
        continue. With ``announce``, moved researchers are announced by ``clusters.changed``
        events (``recompute --all`` recounts everything itself instead)."""
        repository = CoauthorGraphRepository(session)
        nodes = sorted(await repository.memberships())
        clustering = leiden(nodes, await repository.all_edges(), seed=seed)
        # Locked only to write: works that arrive meanwhile wait milliseconds, not the whole
        # run. Their incremental moves are overwritten by this run's partition of a slightly
        # older graph; the next run sees their edges.
        await repository.lock()
        current = await repository.memberships()
        previous = {r: current[r] for r in nodes if r in current}
        groups = [[r for r in g if r in previous] for g in groups_of(clustering.membership)]
        moved, clusters = await self._store(session, groups, previous)
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
        """Re-optimise only the clusters of these researchers (new edges' ends), starting from
        their current membership, and store the result. Members can move between those
        clusters, merge them, split them or leave; the rest of the graph stays as it is. Returns
        the researchers whose cluster changed. The caller holds the graph lock."""
        if not researcher_ids:
            return []
        repository = CoauthorGraphRepository(session)
        scope = await repository.cluster_scope(researcher_ids)
        if len(scope) > SCOPE_LIMIT:
            return []
        rows = await repository.edges_from(list(scope))
        strengths: dict[int, float] = {}
        inside: list[WeightedEdge] = []
        for a, b, weight in rows:
            strengths[a] = strengths.get(a, 0.0) + weight
            if a < b and b in scope:
                inside.append((a, b, weight))
        inside.sort()  # igraph's result depends on edge order; rows come in any order
        lone = -1  # researchers without a cluster start alone, under labels no cluster has
        initial: dict[int, int] = {}
        for researcher_id, cluster_id in scope.items():
            if cluster_id is None:
                initial[researcher_id], lone = lone, lone - 1
            else:
                initial[researcher_id] = cluster_id
        membership = reoptimise(
            sorted(scope),
            inside,
            strengths=strengths,
            total_weight=await repository.total_weight(),
            initial=initial,
            seed=seed,
        )
        moved, _ = await self._store(session, groups_of(membership), scope)
        return moved

    async def _store(
        self,
        session: AsyncSession,
        groups: Iterable[list[int]],
        previous: Mapping[int, int | None],
    ) -> tuple[list[int], int]:
        """Write a partition of the researchers in ``previous`` (their current cluster ids):
        groups keep matching cluster ids, new groups get new clusters, single researchers
        none; emptied clusters go. Returns the moved researchers and the number of clusters."""
        repository = CoauthorGraphRepository(session)
        clustered = [group for group in groups if len(group) > 1]
        kept = match_clusters(clustered, previous)
        new_ids = iter(
            await repository.create_clusters(
                [len(g) for g, k in zip(clustered, kept, strict=True) if k is None]
            )
        )
        assigned: dict[int, int | None] = dict.fromkeys(previous)
        sizes: dict[int, int] = {}
        for group, cluster_id in zip(clustered, kept, strict=True):
            if cluster_id is None:
                cluster_id = next(new_ids)
            else:
                sizes[cluster_id] = len(group)
            for researcher_id in group:
                assigned[researcher_id] = cluster_id
        changes = {r: c for r, c in assigned.items() if c != previous[r]}
        await repository.set_memberships(changes)
        await repository.set_cluster_sizes(sizes)
        vacated = {c for c in previous.values() if c is not None} - set(sizes)
        await repository.delete_empty_clusters(sorted(vacated))
        return sorted(changes), len(clustered)


class GraphSliceService:
    async def graph_slice(
        self, session: AsyncSession, center: NodeKey, *, depth: int, limit: int, fanout: int
    ) -> GraphSlice:
        """The nodes within ``depth`` hops of ``center`` and the edges among them, ranked by
        relevance and cut at ``limit``. Each node contributes at most ``fanout`` neighbours per
        relation, and each hop expands at most ``limit`` nodes (the most relevant so far), so
        the work done depends on ``depth``, ``limit`` and ``fanout``, never on the graph's
        size. ``truncated`` says that something was left out: a node cut, a capped
        supernode, a hop not expanded in full."""
        repository = NeighbourhoodRepository(session)
        found: dict[tuple[NodeKey, NodeKey, EdgeKind], SliceEdge] = {}
        seen = {center}
        frontier = [center]
        truncated = False
        for hop in range(depth):
            for kind in NodeKind:
                ids = sorted(node_id for k, node_id in frontier if k is kind)
                if not ids:
                    continue
                for relation in RELATIONS[kind]:
                    edges, capped = await repository.neighbours(relation, ids, fanout)
                    truncated = truncated or capped
                    found.update((e.key, e) for e in edges)
            reached = {n for e in found.values() for n in (e.source, e.target)} - seen
            seen |= reached
            if hop + 1 < depth and reached:
                scores = relevance(center, found.values())
                ranked = sorted(reached, key=lambda n: (-scores.get(n, 0.0), n))
                truncated = truncated or len(ranked) > limit
                frontier = ranked[:limit]
        scores = relevance(center, found.values())
        kept = most_relevant(center, scores, limit)
        truncated = truncated or len(scores) > len(kept)
        edges = await repository.edges_among([node for node, _ in kept])
        return GraphSlice(
            nodes=kept, edges=kept_edges(edges, [n for n, _ in kept]), truncated=truncated
        )


graph_slices = GraphSliceService()


def announce_moves(session: AsyncSession, moved: Sequence[int]) -> None:
    for batch in chunked(moved, CHANGED_PER_EVENT):
        emit(session, CLUSTERS_CHANGED, researcher_ids=batch)


coauthor_graph = CoauthorGraphService()
