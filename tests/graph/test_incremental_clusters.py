"""Clusters kept current by the ``works.added`` actor, without a full recluster: a new work
re-optimises the clusters of its authors, ids survive, close collaborators and trust follow.
And the full recluster: by command, keeping ids, and on the worker's schedule."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.graph.clustering import modularity
from service.graph.local import Neighbourhood
from service.graph.repository import CoauthorGraphRepository
from service.graph.service import CLUSTERS_CHANGED, NEIGHBOURS_PER_AUTHOR, coauthor_graph
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


def announcements(settings: Settings) -> list[list[int]]:
    """The researchers each ``clusters.changed`` event written so far names, oldest first."""
    rows = sql(
        settings,
        "SELECT payload FROM outbox_events WHERE event_type = :t ORDER BY id",
        t=CLUSTERS_CHANGED,
    )
    payloads = [json.loads(p) if isinstance(p, str) else p for (p,) in rows]  # SQLite: text
    return [[int(r) for r in payload["researcher_ids"]] for payload in payloads]


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
        announced_before = len(announcements(settings))
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
    # Every researcher the bridging works moved was announced (by the works.added actor).
    moved = {r for r in after if after[r] != before[r]}
    named = {r for ids in announcements(settings)[announced_before:] for r in ids}
    assert moved and moved <= named, (moved, named)


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


def rebuild_edges(settings: Settings) -> None:
    """Co-author edges (and the graph's total weight) from the authorships, clusters left as
    they are: what the workers' edge step would have written, without their local recluster."""

    async def rebuild() -> None:
        engine = create_engine(settings, maintenance=True)
        try:
            async with create_sessionmaker(engine)() as session:
                await coauthor_graph.rebuild_edges(session)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(rebuild())


def test_full_recluster_keeps_ids_and_announces_moves(graph_settings: Settings) -> None:
    settings = graph_settings
    a, b = two_groups(settings)
    # No workers ran: no edges or clusters yet. Rebuild them the way an operator would
    # (recompute recounts everything itself and announces nothing).
    bzpeer(settings, "recompute", "--all")
    first = clusters(settings)
    group_a, group_b = same_cluster(first, a), same_cluster(first, b)
    assert announcements(settings) == []
    # A recluster of an unchanged graph moves nobody and announces nothing.
    assert "0 researchers changed cluster" in bzpeer(settings, "recluster")
    assert clusters(settings) == first  # same partition, same ids
    assert announcements(settings) == []

    # A newcomer who wrote with all of group A: the edges know, the clusters do not yet.
    (newcomer,) = add_researchers(settings, ["Newcomer"])
    add_work(settings, "With the newcomer", [*a, newcomer])
    rebuild_edges(settings)
    assert clusters(settings)[newcomer] is None
    # A full run moves them into group A (ids kept) and says so.
    assert "1 researchers changed cluster" in bzpeer(settings, "recluster")
    after = clusters(settings)
    assert after[newcomer] == group_a
    assert same_cluster(after, a) == group_a and same_cluster(after, b) == group_b
    assert announcements(settings) == [[newcomer]]
    assert_cluster_totals(settings)

    assert "not due" in bzpeer(settings, "recluster", "--if-older-than", "3600")
    # Due, on a graph that has not changed since: nobody moves, nothing more is announced.
    assert "0 researchers changed cluster" in bzpeer(settings, "recluster", "--if-older-than", "0")
    assert clusters(settings) == after
    assert announcements(settings) == [[newcomer]]


def read_neighbourhood(settings: Settings, authors: Sequence[int]) -> Neighbourhood:
    """What the ``works.added`` actor's local recluster reads around a work's authors."""

    async def read() -> Neighbourhood:
        engine = create_engine(settings, maintenance=True)
        try:
            async with create_sessionmaker(engine)() as session:
                return await CoauthorGraphRepository(session).neighbourhood(
                    authors, NEIGHBOURS_PER_AUTHOR
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_the_neighbourhood_of_a_work_is_the_clusters_around_its_authors(
    graph_settings: Settings,
) -> None:
    """Three triangles, each its own cluster: a work by two members of one reads that
    triangle and its cluster, nothing of the other two."""
    settings = graph_settings
    triangles = [
        add_researchers(settings, [f"Triangle {t} member {i}" for i in range(3)]) for t in "ABC"
    ]
    for members in triangles:
        for n in range(3):
            add_work(settings, f"Triangle work {n}", members)
    bzpeer(settings, "recompute", "--all")
    membership = clusters(settings)
    ids = [same_cluster(membership, members) for members in triangles]
    assert len(set(ids)) == 3
    first = triangles[0]
    x, y, z = first
    weight = 3 * (1 / 2)  # three works of three authors: 1/2 per pair each

    hood = read_neighbourhood(settings, [x, y])
    assert hood.membership == {x: ids[0], y: ids[0], z: ids[0]}
    assert list(hood.clusters) == [ids[0]]  # not the other two triangles' clusters
    assert hood.clusters[ids[0]].size == 3
    assert hood.clusters[ids[0]].strength == pytest.approx(3 * 2 * weight)
    assert [(a, b) for a, b, _ in hood.inner] == [(x, y), (x, z), (y, z)]
    assert [w for _, _, w in hood.inner] == pytest.approx([weight] * 3)
    assert hood.outer == {}
    assert hood.strengths == pytest.approx(dict.fromkeys(first, 2 * weight))


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
