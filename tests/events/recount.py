"""An independent recount of the derived data, in plain SQL over the source tables (follows,
authorships, works, work_topics, claims, researchers' cluster membership), written here and
sharing no code with the service: the fault tests compare what the workers stored against it,
and so does ``bzpeer recompute --all``'s result (the service's own oracle, which would agree
with the workers on a bug they share).

What it recounts, for every researcher: ``followers_count`` (follows), ``works_count``
(authorships), ``topics_count`` (distinct topics of the researcher's works) and
``close_collaborators_count`` (distinct co-authors with the researcher's cluster id); the trust
snapshot's inputs (one current snapshot; the counts its publications, collaboration and
followers factors state; L0/L1 for records nobody has claimed); ``researcher_topics``; every
co-author edge (joint works and Newman weight, sum of 1/(authors - 1) over joint works); every
cluster's size (its members) and strength (each multi-author work adds 1 to each of its
authors' weighted degree); and the graph's total weight (a work of n >= 2 authors adds n/2).
PostgreSQL only (where the fault tests run)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from service.config import Settings
from tests.events.population import sql

TOLERANCE = 1e-9
"""For sums of floating-point weights, which the service adds in another order."""

COUNTERS = """
WITH coauthors AS (
    SELECT DISTINCT a.researcher_id, b.researcher_id AS coauthor_id
    FROM authorships a
    JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id
)
SELECT r.id,
    r.followers_count,
    (SELECT count(*) FROM follows f WHERE f.researcher_id = r.id),
    r.works_count,
    (SELECT count(*) FROM authorships a WHERE a.researcher_id = r.id),
    r.topics_count,
    (SELECT count(DISTINCT t.topic_id) FROM authorships a
        JOIN work_topics t ON t.work_id = a.work_id WHERE a.researcher_id = r.id),
    r.close_collaborators_count,
    (SELECT count(*) FROM coauthors c JOIN researchers o ON o.id = c.coauthor_id
        WHERE c.researcher_id = r.id AND o.cluster_id = r.cluster_id)
FROM researchers r
ORDER BY r.id
"""

TRUST = """
SELECT r.id,
    (SELECT count(*) FROM trust_snapshots t WHERE t.researcher_id = r.id AND t.is_current),
    (SELECT t.verification_level FROM trust_snapshots t
        WHERE t.researcher_id = r.id AND t.is_current LIMIT 1),
    (SELECT t.factors::text FROM trust_snapshots t
        WHERE t.researcher_id = r.id AND t.is_current LIMIT 1),
    EXISTS (SELECT 1 FROM claims c WHERE c.researcher_id = r.id),
    EXISTS (SELECT 1 FROM authorships a JOIN works w ON w.id = a.work_id
        WHERE a.researcher_id = r.id
        AND (w.doi IS NOT NULL OR w.arxiv_id IS NOT NULL OR w.openalex_id IS NOT NULL)),
    (SELECT count(*) FROM follows f WHERE f.researcher_id = r.id AND EXISTS (
        SELECT 1 FROM claims c WHERE c.account_id = f.account_id AND c.status = 'VERIFIED'))
FROM researchers r
ORDER BY r.id
"""

TOPICS = """
WITH counted AS (
    SELECT a.researcher_id, t.topic_id, count(*) AS work_count
    FROM authorships a JOIN work_topics t ON t.work_id = a.work_id
    GROUP BY a.researcher_id, t.topic_id
)
SELECT coalesce(s.researcher_id, c.researcher_id), coalesce(s.topic_id, c.topic_id),
    s.work_count, c.work_count
FROM researcher_topics s
FULL JOIN counted c ON c.researcher_id = s.researcher_id AND c.topic_id = s.topic_id
WHERE s.work_count IS DISTINCT FROM c.work_count
ORDER BY 1, 2
"""

EDGES = f"""
WITH sizes AS (
    SELECT work_id, count(*) AS n FROM authorships GROUP BY work_id HAVING count(*) > 1
),
pairs AS (
    SELECT a.researcher_id, b.researcher_id AS coauthor_id, count(*) AS joint_works,
        sum(1.0 / (s.n - 1))::float8 AS weight
    FROM authorships a
    JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id
    JOIN sizes s ON s.work_id = a.work_id
    GROUP BY a.researcher_id, b.researcher_id
)
SELECT coalesce(e.researcher_id, p.researcher_id), coalesce(e.coauthor_id, p.coauthor_id),
    e.joint_works, p.joint_works, e.weight, p.weight
FROM coauthor_edges e
FULL JOIN pairs p ON p.researcher_id = e.researcher_id AND p.coauthor_id = e.coauthor_id
WHERE e.joint_works IS DISTINCT FROM p.joint_works OR abs(e.weight - p.weight) > {TOLERANCE}
ORDER BY 1, 2
"""

CLUSTERS = """
WITH multi AS (SELECT work_id FROM authorships GROUP BY work_id HAVING count(*) > 1)
SELECT c.id,
    c.size,
    (SELECT count(*) FROM researchers r WHERE r.cluster_id = c.id),
    c.strength,
    (SELECT count(*) FROM authorships a JOIN researchers r ON r.id = a.researcher_id
        JOIN multi m ON m.work_id = a.work_id WHERE r.cluster_id = c.id)
FROM clusters c
ORDER BY c.id
"""

GRAPH_WEIGHT = """
SELECT (SELECT total_weight FROM coauthor_graph_state WHERE id = 1),
    (SELECT coalesce(sum(n), 0) / 2.0 FROM (
        SELECT count(*) AS n FROM authorships GROUP BY work_id HAVING count(*) > 1) s)::float8
"""


@dataclass(frozen=True)
class Mismatch:
    what: str
    """``researcher 12 followers_count``, ``cluster 3 size``, ..."""
    stored: Any
    recount: Any

    @property
    def below(self) -> bool:
        """A counter short of the recount (an effect lost)."""
        return (
            isinstance(self.stored, int)
            and isinstance(self.recount, int)
            and (self.stored < self.recount)
        )

    @property
    def above(self) -> bool:
        """A counter past the recount (an effect applied twice)."""
        return (
            isinstance(self.stored, int)
            and isinstance(self.recount, int)
            and (self.stored > self.recount)
        )

    def __str__(self) -> str:
        return f"{self.what}: stored {self.stored!r}, recount {self.recount!r}"


def _leading_count(detail: str) -> int | None:
    found = re.match(r"(\d+) ", detail)
    return int(found.group(1)) if found else None


def recount(settings: Settings) -> list[Mismatch]:
    """Every difference between the stored derived data and the recount; [] when they agree."""
    found: list[Mismatch] = []
    counts: dict[int, dict[str, int]] = {}
    for rid, *pairs in sql(settings, COUNTERS):
        names = ("followers_count", "works_count", "topics_count", "close_collaborators_count")
        counts[rid] = {}
        for index, name in enumerate(names):
            stored, truth = int(pairs[2 * index]), int(pairs[2 * index + 1])
            counts[rid][name] = truth
            if stored != truth:
                found.append(Mismatch(f"researcher {rid} {name}", stored, truth))

    for rid, current, level, factors, claimed, persistent, verified in sql(settings, TRUST):
        if current != 1:
            found.append(Mismatch(f"researcher {rid} current trust snapshots", current, 1))
            continue
        if not claimed:  # levels above L1 need a claim; records nobody claimed are L0 or L1
            expected = "L1" if persistent else "L0"
            if level != expected:
                found.append(Mismatch(f"researcher {rid} verification level", level, expected))
        details = {f["key"]: f["detail"] for f in json.loads(factors)}
        for key, truth in (
            ("publications", counts[rid]["works_count"]),
            ("collaboration", counts[rid]["close_collaborators_count"]),
            ("followers", counts[rid]["followers_count"]),
        ):
            stated = _leading_count(details.get(key, ""))
            if stated != truth:
                found.append(Mismatch(f"researcher {rid} trust {key} input", stated, truth))
        stated_verified = re.search(r"\((\d+) verified", details.get("followers", ""))
        if stated_verified is None or int(stated_verified.group(1)) != verified:
            found.append(
                Mismatch(
                    f"researcher {rid} trust verified followers",
                    details.get("followers"),
                    int(verified),
                )
            )

    for rid, topic, stored, truth in sql(settings, TOPICS):
        found.append(Mismatch(f"researcher_topics ({rid}, {topic}) work_count", stored, truth))
    for rid, coauthor, stored_works, works, stored_weight, weight in sql(settings, EDGES):
        found.append(
            Mismatch(
                f"co-author edge ({rid}, {coauthor}) joint works, weight",
                (stored_works, stored_weight),
                (works, weight),
            )
        )
    for cluster, size, members, strength, degree in sql(settings, CLUSTERS):
        if size != members:
            found.append(Mismatch(f"cluster {cluster} size", int(size), int(members)))
        if abs(float(strength) - float(degree)) > TOLERANCE:
            found.append(Mismatch(f"cluster {cluster} strength", strength, float(degree)))
    ((total, truth),) = sql(settings, GRAPH_WEIGHT)
    if abs(float(total or 0.0) - float(truth)) > TOLERANCE:
        found.append(Mismatch("co-author graph total weight", total, truth))
    return found
