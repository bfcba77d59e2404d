"""Collaborator clustering as pure functions over igraph: build the weighted co-author graph,
run Leiden (modularity, fixed seed). No I/O: callers load edges and store memberships.

Kept behind these few functions so that a scoped or distributed engine can replace igraph for
graphs larger than one machine (DESIGN.md "Beyond one machine")."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import igraph as ig

WeightedEdge = tuple[int, int, float]


@dataclass(slots=True)
class PairStats:
    weight: float = 0.0
    """Newman's collaboration weight: the sum over joint works of 1/(authors - 1)."""
    joint_works: int = 0


def coauthor_pairs(author_lists: Iterable[Sequence[int]]) -> dict[tuple[int, int], PairStats]:
    """Every co-author pair ``(a, b)`` with ``a < b`` and its weight. A repeated author on one
    work counts once; a work with a single author adds nothing."""
    pairs: dict[tuple[int, int], PairStats] = {}
    for authors in author_lists:
        unique = sorted(set(authors))
        if len(unique) < 2:
            continue
        share = 1.0 / (len(unique) - 1)
        for pair in combinations(unique, 2):
            stats = pairs.get(pair)
            if stats is None:
                stats = pairs[pair] = PairStats()
            stats.weight += share
            stats.joint_works += 1
    return pairs


@dataclass(frozen=True, slots=True)
class Clustering:
    membership: dict[int, int]
    """Researcher id -> cluster label (0..k-1, largest cluster first)."""
    modularity: float


def leiden(
    nodes: Sequence[int],
    edges: Iterable[WeightedEdge],
    *,
    seed: int,
    resolution: float = 1.0,
    initial: Mapping[int, int] | None = None,
) -> Clustering:
    """Leiden communities maximising weighted modularity, reproducible for a given ``seed``.
    ``initial`` (researcher id -> label) starts the optimisation from a known partition."""
    index = {node: i for i, node in enumerate(nodes)}
    edge_list: list[tuple[int, int]] = []
    weights: list[float] = []
    for a, b, w in edges:
        edge_list.append((index[a], index[b]))
        weights.append(w)
    graph = ig.Graph(n=len(nodes), edges=edge_list, directed=False)
    graph.es["weight"] = weights

    start = None
    if initial is not None:
        fresh = max(initial.values(), default=-1) + 1
        start = []
        for node in nodes:
            label = initial.get(node)
            if label is None:
                label, fresh = fresh, fresh + 1
            start.append(label)

    # igraph draws from a Python RNG; give it a private, seeded one for this run only.
    ig.set_random_number_generator(random.Random(seed))
    try:
        partition = graph.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=resolution,
            n_iterations=-1,
            initial_membership=start,
        )
    finally:
        ig.set_random_number_generator(random)
    modularity = graph.modularity(partition.membership, weights="weight") if edge_list else 0.0
    return Clustering(
        membership=_relabel_by_size(nodes, partition.membership), modularity=modularity
    )


def _relabel_by_size(nodes: Sequence[int], labels: Sequence[int]) -> dict[int, int]:
    """Labels ordered by cluster size (largest first, ties by smallest member): the same
    partition always gets the same labels."""
    members: dict[int, list[int]] = {}
    for node, label in zip(nodes, labels, strict=True):
        members.setdefault(label, []).append(node)
    ordered = sorted(members.values(), key=lambda m: (-len(m), min(m)))
    return {node: new for new, group in enumerate(ordered) for node in group}
