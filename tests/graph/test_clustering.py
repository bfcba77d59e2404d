from __future__ import annotations

import random
from itertools import combinations

import pytest

from service.graph.clustering import (
    coauthor_pairs,
    groups_of,
    leiden,
    match_clusters,
    modularity,
)
from service.graph.local import ClusterTotals, Neighbourhood, NewCluster, plan_local
from service.graph.service import NEIGHBOURS_PER_AUTHOR


class TestCoauthorPairs:
    def test_newman_weight(self) -> None:
        pairs = coauthor_pairs([[1, 2, 3], [1, 2]])
        assert pairs[(1, 2)].weight == pytest.approx(0.5 + 1.0)
        assert pairs[(1, 2)].joint_works == 2
        assert pairs[(1, 3)].weight == pytest.approx(0.5)
        assert pairs[(2, 3)].joint_works == 1

    def test_single_author_adds_no_edge(self) -> None:
        assert coauthor_pairs([[7]]) == {}

    def test_repeated_author_counts_once(self) -> None:
        pairs = coauthor_pairs([[1, 2, 2]])
        assert set(pairs) == {(1, 2)}
        assert pairs[(1, 2)].weight == pytest.approx(1.0)

    def test_pairs_are_ordered(self) -> None:
        assert set(coauthor_pairs([[9, 3]])) == {(3, 9)}


def planted_partition(
    groups: int, size: int, p_in: float, p_out: float, seed: int
) -> tuple[list[int], list[tuple[int, int, float]], dict[int, int]]:
    rng = random.Random(seed)
    nodes = list(range(groups * size))
    truth = {n: n // size for n in nodes}
    edges = [
        (a, b, 1.0)
        for a, b in combinations(nodes, 2)
        if rng.random() < (p_in if truth[a] == truth[b] else p_out)
    ]
    return nodes, edges, truth


class TestLeiden:
    def test_recovers_planted_communities(self) -> None:
        nodes, edges, truth = planted_partition(4, 25, p_in=0.4, p_out=0.01, seed=3)
        clustering = leiden(nodes, edges, seed=42)
        found: dict[int, set[int]] = {}
        for node, label in clustering.membership.items():
            found.setdefault(label, set()).add(node)
        expected = {frozenset(n for n in nodes if truth[n] == g) for g in range(4)}
        assert {frozenset(group) for group in found.values()} == expected
        assert clustering.modularity > 0.6

    def test_deterministic_for_a_seed(self) -> None:
        nodes, edges, _ = planted_partition(6, 15, p_in=0.3, p_out=0.05, seed=5)
        first = leiden(nodes, edges, seed=7)
        assert leiden(nodes, edges, seed=7) == first

    def test_two_triangles_joined_by_a_weak_edge(self) -> None:
        edges = [
            (1, 2, 1.0),
            (2, 3, 1.0),
            (1, 3, 1.0),
            (4, 5, 1.0),
            (5, 6, 1.0),
            (4, 6, 1.0),
            (3, 4, 0.1),
        ]
        membership = leiden([1, 2, 3, 4, 5, 6], edges, seed=1).membership
        assert membership[1] == membership[2] == membership[3]
        assert membership[4] == membership[5] == membership[6]
        assert membership[1] != membership[4]

    def test_isolated_nodes_are_alone(self) -> None:
        membership = leiden([1, 2, 3], [(1, 2, 1.0)], seed=1).membership
        assert membership[1] == membership[2] != membership[3]

    def test_initial_membership_is_accepted(self) -> None:
        nodes, edges, truth = planted_partition(3, 10, p_in=0.6, p_out=0.02, seed=9)
        clustering = leiden(nodes, edges, seed=1, initial=truth)
        assert len(set(clustering.membership.values())) == 3


def planted_works(
    groups: int, size: int, works: int, seed: int, *, inside: float = 0.85
) -> list[list[int]]:
    """Author lists of 2-5 researchers, each mostly from one planted group."""
    rng = random.Random(seed)
    author_lists = []
    for _ in range(works):
        group = rng.randrange(groups)
        authors = [
            group * size + rng.randrange(size)
            if rng.random() < inside
            else rng.randrange(groups * size)
            for _ in range(rng.randint(2, 5))
        ]
        author_lists.append(authors)
    return author_lists


class IncrementalGraph:
    """The co-author graph and its clusters kept in memory, updated one work at a time the way
    the ``works.added`` consumer does: fold the work into the edges, re-optimise the
    neighbourhood of its authors (``plan_local``) and apply the plan. Its ``neighbourhood``
    stands in for ``CoauthorGraphRepository.neighbourhood``, which
    tests/graph/test_incremental_clusters.py checks on a real database."""

    def __init__(self, nodes: list[int], author_lists: list[list[int]], seed: int) -> None:
        self.nodes = nodes
        self.pairs = coauthor_pairs(author_lists)
        self.seed = seed
        self.neighbours: dict[int, set[int]] = {}
        self.strengths: dict[int, float] = {}
        self.total = 0.0
        for (a, b), stats in self.pairs.items():
            self._count(a, b, stats.weight)
        clustering = leiden(nodes, self.edges(), seed=seed)
        self.cluster: dict[int, int | None] = {}
        for group in groups_of(clustering.membership):
            label = clustering.membership[group[0]] if len(group) > 1 else None
            self.cluster.update(dict.fromkeys(group, label))
        self.next_id = max(clustering.membership.values()) + 1

    def edges(self) -> list[tuple[int, int, float]]:
        return [(a, b, stats.weight) for (a, b), stats in self.pairs.items()]

    def weight(self, a: int, b: int) -> float:
        return self.pairs[(min(a, b), max(a, b))].weight

    def labels(self) -> dict[int, int]:
        return {n: c if c is not None else -1 - n for n, c in self.cluster.items()}

    def _count(self, a: int, b: int, weight: float) -> None:
        self.neighbours.setdefault(a, set()).add(b)
        self.neighbours.setdefault(b, set()).add(a)
        self.strengths[a] = self.strengths.get(a, 0.0) + weight
        self.strengths[b] = self.strengths.get(b, 0.0) + weight
        self.total += weight

    def add_work(self, authors: list[int]) -> None:
        for (a, b), stats in coauthor_pairs([authors]).items():
            mine = self.pairs.setdefault((a, b), type(stats)())
            mine.weight += stats.weight
            mine.joint_works += 1
            self._count(a, b, stats.weight)
        plan = plan_local(
            self.neighbourhood(sorted(set(authors))), total_weight=self.total, seed=self.seed
        )
        new_ids = list(range(self.next_id, self.next_id + len(plan.new_clusters)))
        self.next_id += len(plan.new_clusters)
        for node, target in plan.assignment.items():
            self.cluster[node] = new_ids[target.index] if isinstance(target, NewCluster) else target
        for absorbed, keeper in plan.merges.items():
            for node, cluster_id in self.cluster.items():
                if cluster_id == absorbed:
                    self.cluster[node] = keeper

    def neighbourhood(self, authors: list[int]) -> Neighbourhood:
        membership = {a: self.cluster[a] for a in authors}
        for a in authors:
            around = sorted(self.neighbours.get(a, ()), key=lambda b: (-self.weight(a, b), b))
            for b in around[:NEIGHBOURS_PER_AUTHOR]:
                membership.setdefault(b, self.cluster[b])
        inner: list[tuple[int, int, float]] = []
        outer: dict[tuple[int, int], float] = {}
        for a in membership:
            for b in self.neighbours.get(a, ()):
                theirs = self.cluster[b]
                if b in membership:
                    if a < b:
                        inner.append((a, b, self.weight(a, b)))
                elif theirs is not None:
                    outer[(a, theirs)] = outer.get((a, theirs), 0.0) + self.weight(a, b)
        touched = {c for c in membership.values() if c is not None} | {c for _, c in outer}
        clusters: dict[int, ClusterTotals] = {
            c: ClusterTotals(
                sum(1 for n in self.nodes if self.cluster[n] == c),
                sum(self.strengths.get(n, 0.0) for n in self.nodes if self.cluster[n] == c),
            )
            for c in touched
        }
        strengths = {n: self.strengths.get(n, 0.0) for n in membership}
        return Neighbourhood(membership, strengths, sorted(inner), outer, clusters)


class TestIncrementalLeiden:
    def test_thousand_updates_stay_within_one_percent_of_a_full_run(self) -> None:
        groups, size = 20, 40
        nodes = list(range(groups * size))
        graph = IncrementalGraph(nodes, planted_works(groups, size, 1200, seed=11), seed=42)
        for authors in planted_works(groups, size, 1000, seed=12):
            graph.add_work(authors)
        incremental = modularity(nodes, graph.edges(), graph.labels())
        full = leiden(nodes, graph.edges(), seed=42).modularity
        assert incremental >= 0.99 * full, (incremental, full)

    def test_a_bridge_heavy_enough_merges_two_clusters(self) -> None:
        triangles = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
        graph = IncrementalGraph(list(range(1, 13)), triangles * 3, seed=1)
        first, second = graph.cluster[1], graph.cluster[4]
        assert first != second
        for _ in range(6):
            graph.add_work([3, 4])
        assert graph.cluster[3] == graph.cluster[4]
        untouched = {graph.cluster[n] for n in (7, 8, 9)}
        assert len(untouched) == 1 and untouched != {first, second}

    def test_deterministic_for_a_seed(self) -> None:
        runs = []
        for _ in range(2):
            graph = IncrementalGraph(list(range(200)), planted_works(5, 40, 150, seed=3), seed=9)
            for authors in planted_works(5, 40, 100, seed=4):
                graph.add_work(authors)
            runs.append(graph.cluster)
        assert runs[0] == runs[1]


class TestMatchClusters:
    def test_a_cluster_that_gains_a_member_keeps_its_id(self) -> None:
        previous = {1: 7, 2: 7, 3: 7, 4: None}
        assert match_clusters([[1, 2, 3, 4]], previous) == [7]

    def test_the_larger_part_of_a_split_keeps_the_id(self) -> None:
        previous = {n: 5 for n in range(10)}
        assert match_clusters([[0, 1, 2], [3, 4, 5, 6, 7, 8, 9]], previous) == [None, 5]

    def test_merged_clusters_keep_the_larger_id(self) -> None:
        previous = {1: 1, 2: 1, 3: 2, 4: 2, 5: 2}
        assert match_clusters([[1, 2, 3, 4, 5]], previous) == [2]

    def test_a_reshuffle_gets_new_ids(self) -> None:
        previous = {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 2, 8: 2}
        # each new group takes half of each old cluster: no majority either way
        assert match_clusters([[1, 2, 5, 6], [3, 4, 7, 8]], previous) == [None, None]
