from __future__ import annotations

import random
from itertools import combinations

import pytest

from service.graph.clustering import coauthor_pairs, leiden


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
