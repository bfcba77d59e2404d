"""The floor of ``graphSlice``: the same slice around a researcher (depth 2, limit 50, fanout
25) computed without the service: plain asyncpg statements (one per hop, one for the edges
among the kept nodes, one for the nodes' fields), a plain Python personalised PageRank and
orjson for the answer. It follows the service's algorithm (``service.graph.service`` and
``service.graph.slice``): the center expands every relation, the second hop the 25 most
relevant nodes found (researchers and works; topics and institutions are hubs), each
relation's walk share split by weight, the 50 most relevant nodes kept with at most 4 edges per
node, scores equal to 9 decimals tied. The PageRank here iterates to a 1e-13 change instead of
igraph's exact solve: scores agree to about 1e-12, so the kept nodes differ only where a score
falls within that of a rounding boundary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
import orjson

from service.graphql.relay import to_global_id

RESTART = 0.15
FANOUT, LIMIT, DEPTH = 25, 50, 2
EDGES_PER_NODE = 4

Node = tuple[str, int]
Edge = tuple[Node, Node, str, float]

# One statement per hop: every relation of the known researchers and works, each node's first
# n neighbours off an index, plus one row that says the fanout was exceeded.
NEIGHBOURS_SQL = """
SELECT 'coauthor', k.id, e.coauthor_id, e.weight, e.rank
FROM unnest($1::bigint[]) AS k(id) CROSS JOIN LATERAL (
    SELECT coauthor_id, weight, row_number() OVER (ORDER BY weight DESC, coauthor_id) AS rank
    FROM coauthor_edges WHERE researcher_id = k.id
    ORDER BY weight DESC, coauthor_id LIMIT $3) AS e
UNION ALL
SELECT 'works', k.id, e.work_id, 1.0, e.rank
FROM unnest($1::bigint[]) AS k(id) CROSS JOIN LATERAL (
    SELECT work_id, row_number() OVER (ORDER BY work_id DESC) AS rank
    FROM authorships WHERE researcher_id = k.id ORDER BY work_id DESC LIMIT $3) AS e
UNION ALL
SELECT 'researcher_topics', k.id, e.topic_id, e.work_count, e.rank
FROM unnest($1::bigint[]) AS k(id) CROSS JOIN LATERAL (
    SELECT topic_id, work_count,
           row_number() OVER (ORDER BY work_count DESC, topic_id) AS rank
    FROM researcher_topics WHERE researcher_id = k.id
    ORDER BY work_count DESC, topic_id LIMIT $3) AS e
UNION ALL
SELECT 'affiliation', r.id, r.affiliation_id, 1.0, 1
FROM researchers AS r WHERE r.id = ANY($1) AND r.affiliation_id IS NOT NULL
UNION ALL
SELECT 'authors', k.id, e.researcher_id, 1.0, e.rank
FROM unnest($2::bigint[]) AS k(id) CROSS JOIN LATERAL (
    SELECT researcher_id, row_number() OVER (ORDER BY position, researcher_id) AS rank
    FROM authorships WHERE work_id = k.id ORDER BY position, researcher_id LIMIT $3) AS e
UNION ALL
SELECT 'work_topics', k.id, e.topic_id, e.score, e.rank
FROM unnest($2::bigint[]) AS k(id) CROSS JOIN LATERAL (
    SELECT topic_id, score, row_number() OVER (ORDER BY score DESC, topic_id) AS rank
    FROM work_topics WHERE work_id = k.id ORDER BY score DESC, topic_id LIMIT $3) AS e
"""
RELATIONS = {
    # tag: (edge kind, known kind, other kind, known is the source)
    "coauthor": ("COAUTHOR", "Researcher", "Researcher", True),
    "works": ("AUTHORED", "Researcher", "Work", True),
    "researcher_topics": ("HAS_TOPIC", "Researcher", "Topic", True),
    "affiliation": ("AFFILIATED", "Researcher", "Institution", True),
    "authors": ("AUTHORED", "Work", "Researcher", False),
    "work_topics": ("HAS_TOPIC", "Work", "Topic", True),
}
AMONG_SQL = """
SELECT 'COAUTHOR', researcher_id, coauthor_id, weight FROM coauthor_edges
WHERE researcher_id = ANY($1) AND coauthor_id = ANY($1) AND researcher_id < coauthor_id
UNION ALL
SELECT 'AUTHORED', researcher_id, work_id, 1.0 FROM authorships
WHERE researcher_id = ANY($1) AND work_id = ANY($2)
UNION ALL
SELECT 'HAS_TOPIC_WT', work_id, topic_id, score FROM work_topics
WHERE work_id = ANY($2) AND topic_id = ANY($3)
UNION ALL
SELECT 'HAS_TOPIC_RT', researcher_id, topic_id, work_count FROM researcher_topics
WHERE researcher_id = ANY($1) AND topic_id = ANY($3)
UNION ALL
SELECT 'AFFILIATED', id, affiliation_id, 1.0 FROM researchers
WHERE id = ANY($1) AND affiliation_id = ANY($4)
"""
AMONG_ENDS = {
    "COAUTHOR": ("COAUTHOR", "Researcher", "Researcher"),
    "AUTHORED": ("AUTHORED", "Researcher", "Work"),
    "HAS_TOPIC_WT": ("HAS_TOPIC", "Work", "Topic"),
    "HAS_TOPIC_RT": ("HAS_TOPIC", "Researcher", "Topic"),
    "AFFILIATED": ("AFFILIATED", "Researcher", "Institution"),
}
NODES_SQL = """
SELECT 'Researcher', r.id, r.display_name, NULL::int, t.score
FROM researchers AS r
LEFT JOIN trust_snapshots AS t ON t.researcher_id = r.id AND t.is_current
WHERE r.id = ANY($1)
UNION ALL
SELECT 'Work', id, title, publication_year, NULL FROM works WHERE id = ANY($2)
UNION ALL
SELECT 'Topic', id, display_name, NULL, NULL FROM topics WHERE id = ANY($3)
UNION ALL
SELECT 'Institution', id, display_name, NULL, NULL FROM institutions WHERE id = ANY($4)
"""
KINDS = ("Researcher", "Work", "Topic", "Institution")
HUBS = {"Topic", "Institution"}


def edge_of(tag: str, known: int, other: int, weight: float) -> Edge:
    kind, known_kind, other_kind, known_is_source = RELATIONS[tag]
    mine, theirs = (known_kind, known), (other_kind, other)
    if (kind == "COAUTHOR" and other < known) or not known_is_source:
        mine, theirs = theirs, mine
    return (mine, theirs, kind, float(weight))


def ranking(node: Node, score: float) -> tuple[float, str, int]:
    """Best score first, scores equal to 9 decimals tied and ordered by kind and id."""
    return (-round(score, 9), node[0], node[1])


def pagerank(center: Node, edges: Iterable[Edge], tolerance: float = 1e-13) -> dict[Node, float]:
    """Personalised PageRank from ``center`` by power iteration, with the service's walk
    weights (each relation of a node an equal share, split by edge weight)."""
    found = list(edges)
    totals: dict[tuple[Node, str], float] = {}
    for source, target, kind, weight in found:
        for end in (source, target):
            totals[(end, kind)] = totals.get((end, kind), 0.0) + max(weight, 1e-9)
    neighbours: dict[Node, list[tuple[Node, float]]] = {center: []}
    for source, target, kind, weight in found:
        raw = max(weight, 1e-9)
        walk = raw / totals[(source, kind)] + raw / totals[(target, kind)]
        neighbours.setdefault(source, []).append((target, walk))
        neighbours.setdefault(target, []).append((source, walk))
    strength = {node: sum(w for _, w in out) for node, out in neighbours.items()}
    scores = {node: 0.0 for node in neighbours}
    scores[center] = 1.0
    for _ in range(1000):
        following = {node: 0.0 for node in neighbours}
        following[center] = RESTART
        for node, score in scores.items():
            total = strength[node]
            if total == 0.0:
                following[center] += (1 - RESTART) * score  # a dead end restarts
                continue
            share = (1 - RESTART) * score / total
            for other, walk in neighbours[node]:
                following[other] += share * walk
        change = sum(abs(following[n] - scores[n]) for n in scores)
        scores = following
        if change < tolerance:
            break
    return scores


async def neighbours(
    connection: asyncpg.Connection, frontier: list[Node], fanout: int, hop: int
) -> tuple[list[Edge], bool]:
    researchers = sorted(i for k, i in frontier if k == "Researcher")
    works = sorted(i for k, i in frontier if k == "Work")
    rows = await connection.fetch(NEIGHBOURS_SQL, researchers, works, fanout + 1)
    capped = hop > 0 and any(k in HUBS for k, _ in frontier)
    edges: list[Edge] = []
    for tag, known, other, weight, rank in rows:
        if rank > fanout:
            capped = True
        else:
            edges.append(edge_of(tag, known, other, weight))
    return edges, capped


async def graph_slice(connection: asyncpg.Connection, researcher_id: int) -> bytes:
    """The slice's GraphQL-shaped answer (``data``), as JSON."""
    center: Node = ("Researcher", researcher_id)
    found: dict[tuple[Node, Node, str], Edge] = {}
    seen = {center}
    frontier = [center]
    truncated = False
    for hop in range(DEPTH):
        edges, capped = await neighbours(connection, frontier, max(1, FANOUT >> hop), hop)
        truncated = truncated or capped
        found.update(((e[0], e[1], e[2]), e) for e in edges)
        reached = {n for e in found.values() for n in (e[0], e[1])} - seen
        seen |= reached
        if hop + 1 < DEPTH:
            scores = pagerank(center, found.values())
            ranked = sorted(reached, key=lambda n: ranking(n, scores.get(n, 0.0)))
            width = max(1, LIMIT >> (hop + 1))
            truncated = truncated or len(ranked) > width
            frontier = ranked[:width]
    scores = pagerank(center, found.values())
    others = sorted(((n, s) for n, s in scores.items() if n != center), key=lambda i: ranking(*i))
    kept = [(n, round(s, 9)) for n, s in [(center, scores[center]), *others[: LIMIT - 1]]]
    truncated = truncated or len(scores) > len(kept)
    ids: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for (kind, node_id), _ in kept:
        ids[kind].append(node_id)
    among = await connection.fetch(AMONG_SQL, *(ids[kind] for kind in KINDS))
    rank = {node: place for place, (node, _) in enumerate(kept)}
    unique: dict[tuple[Node, Node, str], Edge] = {}
    for tag, a, b, weight in among:
        kind, a_kind, b_kind = AMONG_ENDS[tag]
        edge = ((a_kind, a), (b_kind, b), kind, float(weight))
        unique[(edge[0], edge[1], kind)] = edge
    by_relevance = sorted(
        unique.values(), key=lambda e: (max(rank[e[0]], rank[e[1]]), e[2], e[0], e[1])
    )
    cap = EDGES_PER_NODE * LIMIT
    chosen = sorted(by_relevance[:cap], key=lambda e: (e[2], e[0], e[1]))
    truncated = truncated or len(unique) > cap
    fields = {
        (kind, node_id): (name, year, score)
        for kind, node_id, name, year, score in await connection.fetch(
            NODES_SQL, *(ids[kind] for kind in KINDS)
        )
    }
    return orjson.dumps(
        {
            "data": {
                "graphSlice": {
                    "truncated": truncated,
                    "nodes": [
                        {"id": to_global_id(*node), "score": score, "node": shaped(node, fields)}
                        for node, score in kept
                    ],
                    "edges": [
                        {
                            "source": to_global_id(*source),
                            "target": to_global_id(*target),
                            "kind": kind,
                            "weight": weight,
                        }
                        for source, target, kind, weight in chosen
                    ],
                }
            }
        }
    )


def shaped(node: Node, fields: dict[Node, tuple[str, int | None, float | None]]) -> dict[str, Any]:
    kind = node[0]
    name, year, score = fields[node]
    if kind == "Researcher":
        trust = None if score is None else {"score": score}
        return {"__typename": kind, "displayName": name, "trust": trust}
    if kind == "Work":
        return {"__typename": kind, "title": name, "publicationYear": year}
    return {"__typename": kind, "displayName": name}
