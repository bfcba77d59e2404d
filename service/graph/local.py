"""Incremental clustering: re-optimise the neighbourhood of a new work's authors, the rest of
the graph standing still. Pure functions over igraph; no I/O.

The movable nodes are the authors and their closest co-authors. Every cluster they touch is
also in play as one node standing for the rest of its members ("rest node"): its weight is the
rest's summed degree and its edges are the movable nodes' summed weights to those members. With
node weights k_i and resolution 1/(2m), the Constant Potts Model ranks partitions exactly as
global modularity does (modularity's null model needs global degrees, which a subgraph alone
lacks), so Leiden, started from the current membership, can move an author to another cluster,
gather authors into a new cluster, let one leave, or merge two clusters when their rest nodes
join. What it cannot see are the edges between two rests, which only makes merges rarer than a
full run would make them; the full recluster on the worker's schedule corrects that drift.

The cost is that of the neighbourhood (the authors' degrees), never of the clusters' sizes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import igraph as ig

from service.graph.clustering import (
    LOCAL_ITERATIONS,
    StartKey,
    WeightedEdge,
    match_clusters,
    seeded,
    starting_labels,
)


@dataclass(frozen=True, slots=True)
class ClusterTotals:
    size: int
    strength: float
    """Summed weighted degree of the members (each edge counted from both ends)."""


@dataclass(slots=True)
class Neighbourhood:
    """What the local step sees, read from the database."""

    membership: dict[int, int | None]
    """Movable node -> its current cluster id (None: no cluster)."""
    strengths: dict[int, float]
    """Movable node -> weighted degree in the whole graph."""
    inner: list[WeightedEdge]
    """Edges among movable nodes, each once."""
    outer: dict[tuple[int, int], float]
    """(movable node, cluster id) -> weight from the node to that cluster's other members."""
    clusters: dict[int, ClusterTotals]
    """Every cluster a movable node is in or has an edge to, as stored."""


@dataclass(slots=True)
class LocalPlan:
    """What to write. Existing cluster ids are ints; ``NewCluster(i)`` is the i-th new one."""

    assignment: dict[int, int | NewCluster | None]
    """Movable node -> its cluster (only those whose cluster changes)."""
    merges: dict[int, int] = field(default_factory=dict)
    """Absorbed cluster id -> the cluster id its remaining members join."""
    new_clusters: list[ClusterTotals] = field(default_factory=list)
    totals: dict[int, ClusterTotals] = field(default_factory=dict)
    """New size and strength of every existing cluster that changed and survives."""
    deleted: list[int] = field(default_factory=list)
    """Clusters left without members."""


@dataclass(frozen=True, slots=True)
class NewCluster:
    index: int


def plan_local(hood: Neighbourhood, *, total_weight: float, seed: int) -> LocalPlan:
    """Re-optimise ``hood`` and say what changes (see the module's docstring)."""
    movable = sorted(hood.membership)
    if not movable:
        return LocalPlan(assignment={})
    movable_in: dict[int, list[int]] = {}
    for node in movable:
        cluster_id = hood.membership[node]
        if cluster_id is not None:
            movable_in.setdefault(cluster_id, []).append(node)
    rest_size = {c: totals.size - len(movable_in.get(c, ())) for c, totals in hood.clusters.items()}
    rest_strength = {
        c: totals.strength - sum(hood.strengths[n] for n in movable_in.get(c, ()))
        for c, totals in hood.clusters.items()
    }
    rests = sorted(c for c in hood.clusters if rest_size[c] > 0)

    # Vertices: movable nodes, then one rest node per cluster with members outside.
    index = {node: i for i, node in enumerate(movable)}
    rest_index = {c: len(movable) + i for i, c in enumerate(rests)}
    pairs = [(index[a], index[b]) for a, b, _ in hood.inner]
    weights = [w for _, _, w in hood.inner]
    for (node, cluster_id), weight in sorted(hood.outer.items()):
        if cluster_id in rest_index and weight > 0:
            pairs.append((index[node], rest_index[cluster_id]))
            weights.append(weight)
    node_weights = [hood.strengths[n] for n in movable] + [
        max(rest_strength[c], 0.0) for c in rests
    ]
    labels: dict[StartKey, int] = {}
    start = starting_labels(movable, hood.membership, labels)
    start += [labels.setdefault(c, len(labels)) for c in rests]  # a rest keeps its cluster

    graph = ig.Graph(n=len(start), edges=pairs, directed=False)
    with seeded(seed):
        partition = graph.community_leiden(
            objective_function="CPM",
            weights=weights,
            node_weights=node_weights,
            resolution=1.0 / (2.0 * total_weight) if total_weight > 0 else 1.0,
            n_iterations=LOCAL_ITERATIONS,
            initial_membership=start,
        )
    found = partition.membership

    groups: dict[int, Group] = {}  # by label
    for node in movable:
        groups.setdefault(found[index[node]], ([], []))[0].append(node)
    for cluster_id in rests:
        groups.setdefault(found[rest_index[cluster_id]], ([], []))[1].append(cluster_id)
    return _plan(hood, groups.values(), rest_size, rest_strength)


Group = tuple[list[int], list[int]]
"""Movable nodes and rest nodes (by cluster id) that Leiden put together."""


def _plan(
    hood: Neighbourhood,
    groups: Iterable[Group],
    rest_size: Mapping[int, int],
    rest_strength: Mapping[int, float],
) -> LocalPlan:
    plan = LocalPlan(assignment={})
    never = float("inf")
    ordered = sorted(groups, key=lambda g: (min(g[0], default=never), min(g[1], default=never)))
    target: dict[int, int | NewCluster | None] = {}
    kept: set[int] = set()
    free: list[Group] = []
    for members, anchors in ordered:
        if not anchors:
            free.append((members, anchors))
            continue
        # The largest rest keeps its id; the other rests in the group merge into it.
        keeper = max(anchors, key=lambda c: (rest_size[c], -c))
        kept.add(keeper)
        for absorbed in anchors:
            if absorbed != keeper:
                plan.merges[absorbed] = keeper
                plan.deleted.append(absorbed)
        plan.totals[keeper] = ClusterTotals(
            size=sum(rest_size[c] for c in anchors) + len(members),
            strength=sum(rest_strength[c] for c in anchors)
            + sum(hood.strengths[n] for n in members),
        )
        for node in members:
            target[node] = keeper
    # Groups of movable nodes only: they keep the id of a cluster that lies wholly among the
    # movable nodes when they mostly continue it (same rule as a full recluster), else they
    # are new; a node alone has no cluster.
    whole = {n: c for n, c in hood.membership.items() if c is not None and rest_size.get(c, 0) <= 0}
    candidates = [members for members, _ in free if len(members) > 1]
    matched = match_clusters(candidates, whole)
    for members, cluster_id in zip(candidates, matched, strict=True):
        totals = ClusterTotals(len(members), sum(hood.strengths[n] for n in members))
        if cluster_id is None or cluster_id in kept:
            new: int | NewCluster = NewCluster(len(plan.new_clusters))
            plan.new_clusters.append(totals)
        else:
            new = cluster_id
            kept.add(cluster_id)
            plan.totals[cluster_id] = totals
        for node in members:
            target[node] = new
    for members, _ in free:
        if len(members) == 1:
            target[members[0]] = None
    for cluster_id in hood.clusters:
        if cluster_id not in kept and cluster_id not in plan.merges:
            plan.deleted.append(cluster_id)  # every member moved away
    plan.deleted = sorted(set(plan.deleted))
    plan.assignment = {n: c for n, c in target.items() if c != hood.membership[n]}
    return plan
