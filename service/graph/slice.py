"""The researcher in context: the typed graph around one node, ranked and cut. Pure functions
over edges the repository found; no I/O.

Relevance is personalised PageRank from the center (restart probability 0.15) over the edges
found. Chosen over hop distance because it ranks within a hop: a co-author of ten joint works
over a co-author of one, a topic that many of the center's works share over one that a single
work has, and a node reached by several short paths over one reached by a single path. Its
cost is that of the slice, not of the graph: the walk never leaves the edges found.

Each relation of a node gets an equal share of the walk from it, split among that relation's
edges by weight (an edge's walk weight is its share at each end, summed). Raw weights are not
comparable across relations (Newman weights, topic work counts, ones), and a prolific author's
25 works would otherwise drown their single institution."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import igraph as ig

RESTART = 0.15


class NodeKind(enum.StrEnum):
    """Kinds of node, named as their GraphQL types (and global ids)."""

    RESEARCHER = "Researcher"
    WORK = "Work"
    TOPIC = "Topic"
    INSTITUTION = "Institution"


class EdgeKind(enum.StrEnum):
    AUTHORED = "AUTHORED"
    """Researcher -> work."""
    COAUTHOR = "COAUTHOR"
    """Researcher -> researcher, weight Newman's; one edge per pair, lower id first."""
    HAS_TOPIC = "HAS_TOPIC"
    """Work -> topic (weight: the topic's score on the work) or researcher -> topic (weight:
    the researcher's works on it)."""
    AFFILIATED = "AFFILIATED"
    """Researcher -> institution."""


NodeKey = tuple[NodeKind, int]


@dataclass(frozen=True, slots=True)
class SliceEdge:
    source: NodeKey
    target: NodeKey
    kind: EdgeKind
    weight: float

    @property
    def key(self) -> tuple[NodeKey, NodeKey, EdgeKind]:
        return (self.source, self.target, self.kind)


@dataclass(frozen=True, slots=True)
class GraphSlice:
    nodes: list[tuple[NodeKey, float]]
    """Kept nodes with their relevance, most relevant first (the center first)."""
    edges: list[SliceEdge]
    truncated: bool
    read: frozenset[NodeKey] = frozenset()
    """Every node reached, kept or not: a change to any of them may change the slice."""


def relevance(center: NodeKey, edges: Iterable[SliceEdge]) -> dict[NodeKey, float]:
    """Personalised PageRank from ``center`` over these edges, undirected and weighted; the
    center itself included. Scores sum to 1 over the nodes reached."""
    found = list(edges)
    totals: dict[tuple[NodeKey, EdgeKind], float] = {}
    for edge in found:
        for end in (edge.source, edge.target):
            key = (end, edge.kind)
            totals[key] = totals.get(key, 0.0) + max(edge.weight, 1e-9)
    index: dict[NodeKey, int] = {center: 0}
    pairs: list[tuple[int, int]] = []
    weights: list[float] = []
    for edge in found:
        a = index.setdefault(edge.source, len(index))
        b = index.setdefault(edge.target, len(index))
        pairs.append((a, b))
        raw = max(edge.weight, 1e-9)
        weights.append(
            raw / totals[(edge.source, edge.kind)] + raw / totals[(edge.target, edge.kind)]
        )
    if not pairs:
        return {center: 1.0}
    graph = ig.Graph(n=len(index), edges=pairs, directed=False)
    scores = graph.personalized_pagerank(
        directed=False, damping=1 - RESTART, reset_vertices=[0], weights=weights
    )
    nodes = list(index)
    return {node: float(score) for node, score in zip(nodes, scores, strict=True)}


TIE_DECIMALS = 9
"""Scores equal to this many decimals are ties. Nodes in the same position (two works whose
only author is the center) score the same up to rounding noise, and that noise depends on the
order of the edges; the ranking must not."""


def ranking(node: NodeKey, score: float) -> tuple[float, NodeKind, int]:
    """Sort key: best score first, ties by kind and id."""
    return (-round(score, TIE_DECIMALS), node[0], node[1])


def most_relevant(
    center: NodeKey, scores: Mapping[NodeKey, float], limit: int
) -> list[tuple[NodeKey, float]]:
    """The center and the ``limit - 1`` best-scored other nodes, best first; ties by kind and
    id so that the cut is reproducible. Scores are given to ``TIE_DECIMALS``, as ranked."""
    others = sorted(
        ((node, score) for node, score in scores.items() if node != center),
        key=lambda item: ranking(*item),
    )
    kept = [(center, scores.get(center, 1.0)), *others[: max(limit - 1, 0)]]
    return [(node, round(score, TIE_DECIMALS)) for node, score in kept]


EDGES_PER_NODE = 4
"""A slice answers at most this many edges per node kept: enough to draw it, and a bound the
cost limit can count on."""


def kept_edges(
    edges: Iterable[SliceEdge], kept: Sequence[NodeKey], cap: int
) -> tuple[list[SliceEdge], bool]:
    """Edges with both ends kept, each once, in a stable order, at most ``cap`` of them (those
    between the most relevant nodes first); and whether some were cut."""
    rank = {node: place for place, node in enumerate(kept)}
    unique = {e.key: e for e in edges if e.source in rank and e.target in rank}
    by_relevance = sorted(
        unique.values(),
        key=lambda e: (max(rank[e.source], rank[e.target]), e.kind, e.source, e.target),
    )
    chosen = by_relevance[:cap]
    return sorted(chosen, key=lambda e: (e.kind, e.source, e.target)), len(unique) > cap
