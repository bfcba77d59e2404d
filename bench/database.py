"""The bench database ``bzpeer_bench_<researchers>_<works>``: created, migrated by Alembic (the
only way a schema is made), filled by COPY from ``bench.synthetic``, its derived data computed,
then stamped with a marker (``COMMENT ON DATABASE``) so that a later run with the same
parameters reuses it instead of rebuilding.

Derived data (co-author edges, clusters, researcher topics, counters, trust snapshots) come
from one of two paths:

- ``service``: ``service.recompute.recompute_all(session, seed=...)``, the real code path
  (557 s at 100k researchers / 200k works, measured at a63dd70);
- ``sql``: set-based SQL for edges, researcher topics and counters, the service's own Leiden
  function (``service.graph.clustering.leiden``) for clusters and the service's
  ``trust.recompute`` for trust snapshots, exactly as ``recompute_all`` calls it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
from alembic.script import ScriptDirectory

from bench.synthetic import COLUMNS, SERIAL_TABLES, GraphGenerator, GraphSize
from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.db.migrate import alembic_config, upgrade

DeriveMode = Literal["service", "sql"]

GENERATOR_VERSION = "1"
"""Bump when ``bench.synthetic`` changes what it generates: older bench databases are rebuilt."""
MARKER_PREFIX = "bzpeer-bench"
MATCH_KEYS = ("version", "researchers", "works", "seed", "alembic")
"""Marker fields that must match for a database to be reused."""
DATABASE_PREFIX = "bzpeer_bench_"
MAINTENANCE_DATABASE = "postgres"
"""Only connected to, to create and drop bench databases; nothing in it is touched."""

EDGES_SQL = """
INSERT INTO coauthor_edges (researcher_id, coauthor_id, weight, joint_works)
SELECT a.researcher_id, b.researcher_id, sum(1.0::float8 / (n.authors - 1)), count(*)
FROM (SELECT work_id, count(*) AS authors FROM authorships
      GROUP BY work_id HAVING count(*) > 1) AS n
JOIN authorships AS a ON a.work_id = n.work_id
JOIN authorships AS b ON b.work_id = n.work_id AND b.researcher_id <> a.researcher_id
GROUP BY a.researcher_id, b.researcher_id
"""
RESEARCHER_TOPICS_SQL = """
INSERT INTO researcher_topics (researcher_id, topic_id, work_count)
SELECT a.researcher_id, wt.topic_id, count(*)
FROM authorships AS a JOIN work_topics AS wt ON wt.work_id = a.work_id
GROUP BY a.researcher_id, wt.topic_id
"""
COUNTERS_SQL = """
WITH work_counts AS (
    SELECT researcher_id, count(*) AS n FROM authorships GROUP BY researcher_id
), follower_counts AS (
    SELECT researcher_id, count(*) AS n FROM follows GROUP BY researcher_id
), topic_counts AS (
    SELECT researcher_id, count(*) AS n FROM researcher_topics GROUP BY researcher_id
), close_counts AS (
    SELECT e.researcher_id, count(*) AS n
    FROM coauthor_edges AS e
    JOIN researchers AS center ON center.id = e.researcher_id
    JOIN researchers AS coauthor ON coauthor.id = e.coauthor_id
    WHERE coauthor.cluster_id = center.cluster_id
    GROUP BY e.researcher_id
)
UPDATE researchers AS r SET
    works_count = coalesce(w.n, 0),
    followers_count = coalesce(f.n, 0),
    topics_count = coalesce(t.n, 0),
    close_collaborators_count = coalesce(c.n, 0)
FROM researchers AS base
LEFT JOIN work_counts AS w ON w.researcher_id = base.id
LEFT JOIN follower_counts AS f ON f.researcher_id = base.id
LEFT JOIN topic_counts AS t ON t.researcher_id = base.id
LEFT JOIN close_counts AS c ON c.researcher_id = base.id
WHERE r.id = base.id
"""


@dataclass(slots=True)
class BuildReport:
    database: str
    url: str
    reused: bool
    derive: str
    seconds: dict[str, float] = field(default_factory=dict)
    """Build phases (``load``, ``derive`` and its steps, ``vacuum``), in seconds."""
    rows: dict[str, int] = field(default_factory=dict)


@contextmanager
def timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = time.perf_counter() - started


def alembic_head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    return head or ""


def marker_fields(size: GraphSize, url: str) -> dict[str, str]:
    return {
        "version": GENERATOR_VERSION,
        "researchers": str(size.researchers),
        "works": str(size.works),
        "seed": str(size.seed),
        "alembic": alembic_head(url),
    }


def format_marker(fields: dict[str, str]) -> str:
    return " ".join([MARKER_PREFIX, *(f"{k}={v}" for k, v in fields.items())])


def parse_marker(comment: str | None) -> dict[str, str]:
    if not comment or not comment.startswith(MARKER_PREFIX + " "):
        return {}
    pairs = (part.partition("=") for part in comment.split()[1:])
    return {key: value for key, _, value in pairs}


async def read_marker(server_url: str, database: str) -> dict[str, str]:
    connection = await asyncpg.connect(f"{server_url}/{MAINTENANCE_DATABASE}")
    try:
        comment = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            database,
        )
    finally:
        await connection.close()
    return parse_marker(comment)


async def recreate_database(server_url: str, database: str) -> None:
    if not database.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {database!r}: not a bench database")
    connection = await asyncpg.connect(f"{server_url}/{MAINTENANCE_DATABASE}")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


async def load_source_tables(url: str, size: GraphSize, report: BuildReport) -> None:
    """Generate and COPY every source table. Foreign-key triggers are off for this session
    (``session_replication_role = replica``): the generator only writes consistent rows."""
    generator = GraphGenerator(size)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET synchronous_commit = off")

        async def copy(table: str, rows: list[Any]) -> None:
            await connection.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
            report.rows[table] = report.rows.get(table, 0) + len(rows)

        for table, make in (
            ("institutions", generator.institutions),
            ("institution_domains", generator.institution_domains),
            ("venues", generator.venues),
            ("topics", generator.topics),
            ("researchers", generator.researchers),
        ):
            await copy(table, make())
        for batch in generator.works():
            await copy("works", batch.works)
            await copy("authorships", batch.authorships)
            await copy("authorship_institutions", batch.authorship_institutions)
            await copy("work_topics", batch.work_topics)
        for table, make in (
            ("accounts", generator.accounts),
            ("follows", generator.follows),
            ("claims", generator.claims),
        ):
            await copy(table, make())
        for table in SERIAL_TABLES:
            await reset_sequence(connection, table)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def reset_sequence(connection: asyncpg.Connection, table: str) -> None:
    await connection.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
    )


def maintenance_settings() -> Settings:
    """The service's settings without the API's statement timeout (a full recompute runs long
    statements by design)."""
    return Settings(db_statement_timeout_ms=0)


@contextmanager
def step_timers(seconds: dict[str, float]) -> Iterator[None]:
    """Time each step ``recompute_all`` takes by wrapping the service singletons' methods for
    the duration of the block (instance attributes shadow the class's methods)."""
    from service.graph.service import coauthor_graph
    from service.researchers.service import researchers
    from service.trust.service import trust

    targets = [
        (coauthor_graph, "rebuild_edges", "edges"),
        (coauthor_graph, "recluster", "clusters"),
        (researchers, "recompute_derived", "topics+counters"),
        (trust, "recompute", "trust"),
    ]

    def wrap(method: Callable[..., Awaitable[Any]], label: str) -> Callable[..., Awaitable[Any]]:
        async def timed_method(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - started

        return timed_method

    for obj, name, label in targets:
        setattr(obj, name, wrap(getattr(obj, name), label))
    try:
        yield
    finally:
        for obj, name, _ in targets:
            delattr(obj, name)


async def derive_with_service(url: str, seed: int, seconds: dict[str, float]) -> None:
    from service.recompute import recompute_all

    engine = create_engine(maintenance_settings(), url=url)
    try:
        async with create_sessionmaker(engine)() as session:
            with step_timers(seconds):
                await recompute_all(session, seed=seed)
            await session.commit()
    finally:
        await engine.dispose()


async def derive_with_sql(url: str, seed: int, seconds: dict[str, float]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET work_mem = '256MB'")
        await connection.execute("SET synchronous_commit = off")
        with timed(seconds, "edges"):
            await connection.execute(EDGES_SQL)
            await connection.execute("ANALYZE coauthor_edges")
        with timed(seconds, "clusters"):
            await store_clusters(connection, seed)
        with timed(seconds, "topics+counters"):
            await connection.execute(RESEARCHER_TOPICS_SQL)
            await connection.execute("ANALYZE researcher_topics")
            await connection.execute(COUNTERS_SQL)
    finally:
        await connection.close()
    with timed(seconds, "trust"):
        await derive_trust_with_service(url)


async def store_clusters(connection: asyncpg.Connection, seed: int) -> None:
    """Leiden over the stored edges (the service's pure function), stored as ``recluster``
    stores it: one cluster per group of two or more researchers."""
    from service.graph.clustering import leiden

    nodes = [r[0] for r in await connection.fetch("SELECT id FROM researchers ORDER BY id")]
    edges = await connection.fetch(
        "SELECT researcher_id, coauthor_id, weight FROM coauthor_edges "
        "WHERE researcher_id < coauthor_id"
    )
    clustering = await asyncio.to_thread(leiden, nodes, [(a, b, w) for a, b, w in edges], seed=seed)
    groups: dict[int, list[int]] = {}
    for researcher_id, label in clustering.membership.items():
        groups.setdefault(label, []).append(researcher_id)
    kept = [group for group in groups.values() if len(group) > 1]
    await connection.copy_records_to_table(
        "clusters",
        records=[(i, len(g)) for i, g in enumerate(kept, start=1)],
        columns=("id", "size"),
    )
    await reset_sequence(connection, "clusters")
    await connection.execute(
        "CREATE TEMP TABLE bench_membership (researcher_id bigint, cluster_id bigint)"
    )
    await connection.copy_records_to_table(
        "bench_membership",
        records=[(rid, i) for i, group in enumerate(kept, start=1) for rid in group],
    )
    await connection.execute(
        "UPDATE researchers AS r SET cluster_id = m.cluster_id "
        "FROM bench_membership AS m WHERE r.id = m.researcher_id"
    )
    await connection.execute("ANALYZE researchers")


async def derive_trust_with_service(url: str) -> None:
    """Two passes of ``trust.recompute`` over every researcher, as ``recompute_all`` runs it."""
    from service.researchers.repository import ResearcherRepository
    from service.trust.service import trust

    engine = create_engine(maintenance_settings(), url=url)
    try:
        async with create_sessionmaker(engine)() as session:
            ids = await ResearcherRepository(session).all_ids()
            await trust.recompute(session, ids)
            await trust.recompute(session, ids)
            await session.commit()
    finally:
        await engine.dispose()


async def vacuum_and_mark(url: str, database: str, marker: dict[str, str]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
        comment = format_marker(marker).replace("'", "")
        await connection.execute(f"COMMENT ON DATABASE \"{database}\" IS '{comment}'")
    finally:
        await connection.close()


async def ensure_database(
    server_url: str,
    size: GraphSize,
    *,
    rebuild: bool = False,
    derive: DeriveMode = "sql",
    log: Callable[[str], None] = print,
) -> BuildReport:
    """The URL of a complete bench database of this size: reused when its marker matches,
    built otherwise (or when ``rebuild``)."""
    database = size.database
    url = f"{server_url}/{database}"
    wanted = marker_fields(size, url)
    found = await read_marker(server_url, database)
    if not rebuild and all(found.get(k) == wanted[k] for k in MATCH_KEYS):
        report = BuildReport(database, url, reused=True, derive=found.get("derive", "?"))
        report.seconds = {
            k.removeprefix("s_"): float(v) for k, v in found.items() if k.startswith("s_")
        }
        return report

    report = BuildReport(database, url, reused=False, derive=derive)
    changed = [
        f"{k} {found[k]} -> {wanted[k]}" for k in MATCH_KEYS if k in found and found[k] != wanted[k]
    ]
    reason = "--rebuild" if rebuild else ", ".join(changed) or "no complete bench database yet"
    log(
        f"building {database} ({size.researchers} researchers, {size.works} works; "
        f"reason: {reason})"
    )
    with timed(report.seconds, "create+migrate"):
        await recreate_database(server_url, database)
        await asyncio.to_thread(upgrade, url)
    with timed(report.seconds, "load"):
        await load_source_tables(url, size, report)
    log(
        f"  loaded source tables in {report.seconds['load']:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in report.rows.items())
    )
    steps: dict[str, float] = {}
    log(f"  deriving with the {derive} path ...")
    with timed(report.seconds, "derive"):
        if derive == "service":
            await derive_with_service(url, size.seed, steps)
        else:
            await derive_with_sql(url, size.seed, steps)
    report.seconds.update({f"derive.{k}": v for k, v in steps.items()})
    with timed(report.seconds, "vacuum"):
        await vacuum_and_mark(
            url,
            database,
            {
                **wanted,
                "derive": derive,
                **{f"s_{k}": f"{v:.1f}" for k, v in report.seconds.items()},
            },
        )
    return report
