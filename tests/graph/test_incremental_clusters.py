"""Clusters kept current by the ``works.added`` actor, without a full recluster: a new work
re-optimises the clusters of its authors, ids survive, close collaborators and trust follow.
And the full recluster: by command, keeping ids, and on the worker's schedule."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from service.config import Settings
from service.graph.clustering import modularity
from tests.events.population import add_researchers, add_work, sql
from tests.events.test_faults import REPORTS
from tests.support import create_database, drop_database, eventually, settings_for
from workers.process import EmbeddedWorkers
from workers.schedule import child_environment


@pytest.fixture
def graph_settings(backend: str, database_dir: Path) -> Iterator[Settings]:
    url = create_database(backend, database_dir)
    yield settings_for(url)
    drop_database(url)


def clusters(settings: Settings) -> dict[int, int | None]:
    return dict(sql(settings, "SELECT id, cluster_id FROM researchers"))


def all_applied(settings: Settings) -> None:
    ((unprocessed,),) = sql(
        settings, "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"
    )
    assert unprocessed == 0
    assert not sql(settings, "SELECT 1 FROM trust_stale")


def recounted_close_collaborators(settings: Settings) -> dict[int, int]:
    rows = sql(
        settings,
        "SELECT r.id, count(c.id) FROM researchers r "
        "LEFT JOIN coauthor_edges e ON e.researcher_id = r.id "
        "LEFT JOIN researchers c ON c.id = e.coauthor_id AND c.cluster_id = r.cluster_id "
        "GROUP BY r.id",
    )
    return dict(rows)


def stored_close_collaborators(settings: Settings) -> dict[int, int]:
    return dict(sql(settings, "SELECT id, close_collaborators_count FROM researchers"))


def collaboration_detail(settings: Settings, researcher_id: int) -> str:
    ((factors,),) = sql(
        settings,
        "SELECT factors FROM trust_snapshots WHERE researcher_id = :r AND is_current",
        r=researcher_id,
    )
    if isinstance(factors, str):  # SQLite's JSON comes back as text
        factors = json.loads(factors)
    return str(next(f["detail"] for f in factors if f["key"] == "collaboration"))


def announced(settings: Settings) -> int:
    """``clusters.changed`` events written so far."""
    ((count,),) = sql(
        settings, "SELECT count(*) FROM outbox_events WHERE event_type = 'clusters.changed'"
    )
    return int(count)


def assert_cluster_totals(settings: Settings) -> None:
    """Stored sizes and strengths (kept incrementally) equal a recount; no empty cluster."""
    rows = sql(
        settings,
        "SELECT c.size, c.strength, "
        "(SELECT count(*) FROM researchers r WHERE r.cluster_id = c.id), "
        "(SELECT COALESCE(SUM(e.weight), 0) FROM coauthor_edges e "
        " JOIN researchers r ON r.id = e.researcher_id WHERE r.cluster_id = c.id) "
        "FROM clusters c",
    )
    assert rows
    for size, strength, members, summed in rows:
        assert size == members > 1
        assert strength == pytest.approx(summed)
    ((total,),) = sql(settings, "SELECT total_weight FROM coauthor_graph_state")
    ((summed_all,),) = sql(settings, "SELECT COALESCE(SUM(weight), 0) / 2 FROM coauthor_edges")
    assert total == pytest.approx(summed_all)


def labelled(membership: dict[int, int | None]) -> dict[int, int]:
    """Cluster ids as labels, researchers without a cluster each alone."""
    return {r: c if c is not None else -r for r, c in membership.items()}


def two_groups(settings: Settings) -> tuple[list[int], list[int]]:
    """Two groups of four researchers, each group the authors of three joint works."""
    ids = add_researchers(settings, [f"Group {g} member {i}" for g in "AB" for i in range(4)])
    first, second = ids[:4], ids[4:]
    for group in (first, second):
        for n in range(3):
            add_work(settings, f"Joint work {n}", group)
    return first, second


def same_cluster(membership: dict[int, int | None], ids: Sequence[int]) -> int:
    found = {membership[i] for i in ids}
    assert len(found) == 1 and None not in found, found
    (cluster_id,) = found
    assert cluster_id is not None
    return cluster_id


def test_a_new_work_moves_clusters_counts_and_trust_without_a_full_recluster(
    graph_settings: Settings, backend: str
) -> None:
    settings = graph_settings
    workers = EmbeddedWorkers(settings)
    try:
        a, b = two_groups(settings)
        eventually(lambda: all_applied(settings), timeout=10)
        before = clusters(settings)  # formed by incremental steps alone
        group_a, group_b = same_cluster(before, a), same_cluster(before, b)
        assert group_a != group_b
        assert stored_close_collaborators(settings)[a[0]] == 3

        # One joint work between the groups: an edge, but Leiden keeps the two clusters.
        add_work(settings, "A first bridge", [a[0], b[0]])
        eventually(lambda: all_applied(settings), timeout=10)
        ((weight,),) = sql(
            settings,
            "SELECT weight FROM coauthor_edges WHERE researcher_id = :a AND coauthor_id = :b",
            a=a[0],
            b=b[0],
        )
        assert weight == pytest.approx(1.0)
        assert clusters(settings) == before

        # Six more: the pair is now tighter than either group, and Leiden joins them (which
        # way is its call: the pair alone, or one of them joining the other's group).
        for n in range(6):
            add_work(settings, f"Bridge {n}", [a[0], b[0]])
        started = time.perf_counter()

        def settled() -> dict[int, int | None]:
            all_applied(settings)
            after = clusters(settings)
            assert after[a[0]] == after[b[0]]
            counts = stored_close_collaborators(settings)
            assert counts == recounted_close_collaborators(settings)
            for researcher_id in (a[0], a[1], b[0]):  # trust read the new counts
                detail = collaboration_detail(settings, researcher_id)
                assert detail.startswith(f"{counts[researcher_id]} close collaborator")
            return after

        after = eventually(settled, timeout=10)
        elapsed = time.perf_counter() - started
    finally:
        workers.close()
    REPORTS.append(
        f"bridging work -> clusters, counts and trust settled in {elapsed:.3f} s ({backend})"
    )
    # The groups' other three members keep their cluster ids, and the clusters moved.
    assert same_cluster(after, a[1:]) == group_a
    assert same_cluster(after, b[1:]) == group_b
    assert after != before
    pairs = "SELECT researcher_id, coauthor_id, weight FROM coauthor_edges"
    edges = [(x, y, w) for x, y, w in sql(settings, pairs) if x < y]
    nodes = sorted(after)
    assert modularity(nodes, edges, labelled(after)) > modularity(nodes, edges, labelled(before))
    assert_cluster_totals(settings)
    assert sql(settings, "SELECT reclustered_at FROM coauthor_graph_state") == [(None,)]
    assert announced(settings) > 0


def bzpeer(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return done.stdout


def test_full_recluster_keeps_ids_and_announces_moves(graph_settings: Settings) -> None:
    settings = graph_settings
    a, b = two_groups(settings)
    # No workers ran: no edges or clusters yet. Rebuild them the way an operator would.
    bzpeer(settings, "recompute", "--all")
    first = clusters(settings)
    group_a, group_b = same_cluster(first, a), same_cluster(first, b)
    assert "0 researchers changed cluster" in bzpeer(settings, "recluster")
    assert clusters(settings) == first  # same partition, same ids
    assert sql(
        settings, "SELECT count(*) FROM outbox_events WHERE event_type = 'clusters.changed'"
    ) == [(0,)]

    # A newcomer who wrote with all of group A joins it; a full run moves them and says so.
    (newcomer,) = add_researchers(settings, ["Newcomer"])
    add_work(settings, "With the newcomer", [*a, newcomer])
    sql(settings, "DELETE FROM outbox_events")  # no workers here; the edge comes from a rebuild
    bzpeer(settings, "recompute", "--all")
    assert clusters(settings)[newcomer] == group_a
    assert same_cluster(clusters(settings), b) == group_b
    assert_cluster_totals(settings)
    assert "not due" in bzpeer(settings, "recluster", "--if-older-than", "3600")
    assert "1 clusters" not in bzpeer(settings, "recluster", "--if-older-than", "0")


def test_the_worker_reclusters_on_its_schedule(graph_settings: Settings) -> None:
    settings = graph_settings.model_copy(update={"recluster_interval_s": 0.5})
    workers = EmbeddedWorkers(settings)
    try:
        a, b = two_groups(settings)

        def reclustered() -> None:
            ((at,),) = sql(settings, "SELECT reclustered_at FROM coauthor_graph_state")
            assert at is not None

        eventually(reclustered, timeout=30)
        eventually(lambda: all_applied(settings), timeout=10)
    finally:
        workers.close()
    assert workers.schedule.runs >= 1
    membership = clusters(settings)
    assert same_cluster(membership, a) != same_cluster(membership, b)
