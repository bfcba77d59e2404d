"""The bench database ``bzpeer_bench_<researchers>_<works>``: created, migrated by Alembic (the
only way a schema is made), filled by COPY from ``bench.synthetic``, its derived data computed,
then stamped with a marker (``COMMENT ON DATABASE``) so that a later run with the same
parameters reuses it instead of rebuilding.

Derived data (co-author edges, clusters, researcher topics, counters, trust snapshots) come
from one of three paths:

- ``service``: ``service.recompute.recompute_all(session, seed=...)``, the real code path
  (557 s at 100k researchers / 200k works, measured at a63dd70);
- ``sql``: set-based SQL for edges, researcher topics and counters, the service's own Leiden
  function (``service.graph.clustering.leiden``) for clusters and the service's
  ``trust.recompute`` for trust snapshots, exactly as ``recompute_all`` calls it;
- ``graph``: the same SQL for edges, researcher topics and counters only, for the co-author
  graph benchmark, which times a full recluster itself: no clusters, no trust snapshots. A
  database derived so serves only ``graph`` requests; a complete one serves them too.
  ``ensure_graph_database`` builds one with the thinner authors-per-work distribution of
  ``bench.synthetic.graph_bench_size``: ``bzpeer_bench_<r>_<w>_h6_t1``, 12 min at 1M
  researchers / 2M works (9.6M co-author pairs, 7.6 GiB), with two test suites sharing the
  machine's two cores.

Loading: the indexes no foreign key needs are dropped after the migration and recreated from
the catalog's own definitions once the rows are in (before deriving, except on the ``graph``
path, whose statements scan whole tables anyway): the schema is the migrated one (``pg_dump
-s`` identical). The generator runs in a thread, a batch ahead of the COPY.

``python bench/database.py <researchers> <works> [--derive graph|sql|service] [--rebuild]``
builds or reuses one and prints its row counts, size and co-author degree distribution.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import asyncpg
from alembic.script import ScriptDirectory

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make ``bench`` and ``service`` importable
    sys.path.insert(0, str(REPO_ROOT))

from bench.synthetic import (  # noqa: E402
    COLUMNS,
    SERIAL_TABLES,
    GraphGenerator,
    GraphSize,
    graph_bench_size,
)
from service.config import Settings  # noqa: E402
from service.db.engine import create_engine, create_sessionmaker  # noqa: E402
from service.db.migrate import alembic_config, upgrade  # noqa: E402

T = TypeVar("T")
DeriveMode = Literal["service", "sql", "graph"]
GRAPH_DERIVED_TABLES = ("coauthor_edges", "researcher_topics")
"""Tables the ``graph`` path fills (besides the counters of ``researchers``)."""
WORK_VECTORS = "search_work_vectors"
"""Filled from the works once they are in (``build_search_tables``)."""
NAME_WORDS = "search_researcher_words"
"""Filled from the researchers once they are in (``build_search_tables``)."""
COMPLETE_DERIVES = ("service", "sql")
"""Derive modes that compute every derived table; ``graph`` leaves clusters and trust empty."""

GENERATOR_VERSION = "1"
"""Bump when ``bench.synthetic`` changes what it generates: older bench databases are rebuilt."""
MARKER_PREFIX = "bzpeer-bench"
MATCH_KEYS = ("version", "researchers", "works", "seed", "alembic", "shape")
"""Marker fields that must match for a database to be reused (a missing one matches ``""``:
``shape`` is only written for a non-default authors-per-work distribution)."""
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1"
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

GRAPH_COUNTERS_SQL = """
WITH work_counts AS (
    SELECT researcher_id, count(*) AS n FROM authorships GROUP BY researcher_id
), follower_counts AS (
    SELECT researcher_id, count(*) AS n FROM follows GROUP BY researcher_id
), topic_counts AS (
    SELECT researcher_id, count(*) AS n FROM researcher_topics GROUP BY researcher_id
)
UPDATE researchers AS r SET
    works_count = coalesce(w.n, 0),
    followers_count = coalesce(f.n, 0),
    topics_count = coalesce(t.n, 0),
    close_collaborators_count = 0
FROM researchers AS base
LEFT JOIN work_counts AS w ON w.researcher_id = base.id
LEFT JOIN follower_counts AS f ON f.researcher_id = base.id
LEFT JOIN topic_counts AS t ON t.researcher_id = base.id
WHERE r.id = base.id
"""
"""``COUNTERS_SQL`` without clusters: no researcher has close collaborators."""
DROPPABLE_INDEXES_SQL = """
SELECT t.relname AS table_name, i.relname AS index_name, con.conname AS constraint_name,
       CASE WHEN con.oid IS NULL THEN pg_get_indexdef(x.indexrelid)
            ELSE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', ns.nspname, t.relname,
                        con.conname, pg_get_constraintdef(con.oid))
       END AS create_sql
FROM pg_index AS x
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_namespace AS ns ON ns.oid = t.relnamespace
LEFT JOIN pg_constraint AS con
    ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE ns.nspname = current_schema() AND t.relname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS fk WHERE fk.contype = 'f'
                  AND fk.conindid = x.indexrelid)
ORDER BY t.relname, i.relname
"""
"""Indexes no foreign key depends on, with the statement that recreates each."""


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
    fields = {
        "version": GENERATOR_VERSION,
        "researchers": str(size.researchers),
        "works": str(size.works),
        "seed": str(size.seed),
        "alembic": alembic_head(url),
    }
    if size.shape:
        fields["shape"] = size.shape
    return fields


def marker_matches(found: dict[str, str], wanted: dict[str, str], derive: DeriveMode) -> bool:
    """Whether a database with the ``found`` marker can serve: same generated data, and every
    derived table ``derive`` would compute (a complete database serves a ``graph`` request,
    a ``graph`` one serves only ``graph``)."""
    if not found or any(found.get(k, "") != wanted.get(k, "") for k in MATCH_KEYS):
        return False
    return derive == "graph" or found.get("derive") in COMPLETE_DERIVES


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
        async for batch in prefetched(generator.works()):
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


async def prefetched(items: Iterator[T], ahead: int = 2) -> AsyncIterator[T]:
    """``items``, produced by a thread up to ``ahead`` in advance: the generator's Python runs
    while PostgreSQL stores the previous batch. The thread stops early if the consumer does."""
    handoff: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as error:  # handed to the consumer, raised there
            put((False, error))

    def take() -> tuple[bool, Any]:
        while not stop.is_set():
            try:
                return handoff.get(timeout=0.1)
            except queue.Empty:
                continue
        return False, None

    producer = threading.Thread(target=produce, name="bench-generator", daemon=True)
    producer.start()
    try:
        while True:
            more, item = await asyncio.to_thread(take)
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(producer.join)


async def build_search_tables(url: str, connections: int = 2) -> None:
    """The works' search vectors (migrations 0015, 0017) and the researchers' name words (0016),
    which the loader's replica mode kept the triggers from writing: the vectors built as the
    bulk derive builds them, split by id over a few connections, the words as the migration
    does."""

    async def part(number: int) -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET session_replication_role = replica")
            await connection.execute(
                f"INSERT INTO {WORK_VECTORS} (work_id, vector) "
                "SELECT w.id, search_work_vector(w.title, w.abstract, t.topics) FROM works AS w "
                "LEFT JOIN (SELECT wt.work_id, string_agg(tp.display_name, ' ' ORDER BY tp.id) "
                "AS topics FROM work_topics AS wt JOIN topics AS tp ON tp.id = wt.topic_id "
                "WHERE wt.work_id % $1 = $2 GROUP BY wt.work_id) AS t ON t.work_id = w.id "
                "WHERE w.id % $1 = $2",
                connections,
                number,
            )
            await connection.execute(
                f"INSERT INTO {NAME_WORDS} (word, tier, researcher_id) "
                "SELECT w.word, w.tier, r.id "
                "FROM researchers AS r, search_name_words(r.search_name) AS w "
                "WHERE r.merged_into_id IS NULL AND r.id % $1 = $2",
                connections,
                number,
            )
        finally:
            await connection.close()

    await asyncio.gather(*(part(n) for n in range(connections)))


async def drop_indexes(url: str, tables: Sequence[str]) -> list[tuple[str, str]]:
    """Drop the indexes of these tables that no foreign key needs (primary keys and unique
    constraints included), to load and derive without maintaining them; returns the statements
    that recreate them exactly (names, definitions) from the catalog, with their tables, for
    ``create_indexes``."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(DROPPABLE_INDEXES_SQL, list(tables))
        async with connection.transaction():
            for row in rows:
                if row["constraint_name"] is not None:
                    await connection.execute(
                        f'ALTER TABLE "{row["table_name"]}" '
                        f'DROP CONSTRAINT "{row["constraint_name"]}"'
                    )
                else:
                    await connection.execute(f'DROP INDEX "{row["index_name"]}"')
    finally:
        await connection.close()
    return [(row["table_name"], row["create_sql"]) for row in rows]


async def create_indexes(
    url: str, statements: Sequence[tuple[str, str]], connections: int = 2
) -> None:
    """Run ``drop_indexes``'s statements on a few connections at once (an index build uses
    about one core), largest tables first."""
    connection = await asyncpg.connect(url)
    try:
        sizes = dict(
            await connection.fetch(
                "SELECT relname, pg_relation_size(oid) FROM pg_class "
                "WHERE relname = ANY($1::text[]) AND relnamespace = current_schema()::regnamespace",
                list({table for table, _ in statements}),
            )
        )
    finally:
        await connection.close()
    pending = sorted(statements, key=lambda item: sizes.get(item[0], 0), reverse=True)

    async def worker() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET maintenance_work_mem = '1GB'")
            await connection.execute("SET max_parallel_maintenance_workers = 0")
            while pending:
                _, statement = pending.pop(0)
                await connection.execute(statement)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


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
        (researchers, "recompute_everyone", "topics+counters"),
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
            await sync_graph_state(connection)
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


async def derive_graph_with_sql(url: str, seconds: dict[str, float]) -> None:
    """What the co-author graph benchmark needs: edges, researcher topics and counters by
    ``derive_with_sql``'s statements (the edges by the rule of
    ``service.graph.repository._pairs``); no clusters (``close_collaborators_count`` is 0), no
    trust snapshots. Runs before the indexes are rebuilt; the hash aggregate of the edges
    gets up to 2 GB (``work_mem`` 1 GB times ``hash_mem_multiplier``) so it stays in memory."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET work_mem = '1GB'")
        await connection.execute("SET synchronous_commit = off")
        with timed(seconds, "edges"):
            await connection.execute(EDGES_SQL)
            await connection.execute("ANALYZE coauthor_edges")
            await sync_graph_state(connection)
        with timed(seconds, "topics+counters"):
            await connection.execute(RESEARCHER_TOPICS_SQL)
            await connection.execute("ANALYZE researcher_topics")
            await connection.execute(GRAPH_COUNTERS_SQL)
    finally:
        await connection.close()


async def sync_graph_state(connection: asyncpg.Connection) -> None:
    """Set the co-author graph's total weight (``coauthor_graph_state``, where the schema has
    it) from the edges just derived: the migration computed it over an empty table."""
    if await connection.fetchval("SELECT to_regclass('coauthor_graph_state') IS NOT NULL"):
        await connection.execute(
            "UPDATE coauthor_graph_state SET total_weight = "
            "(SELECT coalesce(sum(weight), 0) / 2 FROM coauthor_edges) WHERE id = 1"
        )


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
    if not rebuild and marker_matches(found, wanted, derive):
        report = BuildReport(database, url, reused=True, derive=found.get("derive", "?"))
        report.seconds = {
            k.removeprefix("s_"): float(v) for k, v in found.items() if k.startswith("s_")
        }
        return report

    report = BuildReport(database, url, reused=False, derive=derive)
    changed = [
        f"{k} {found.get(k, '')} -> {wanted.get(k, '')}"
        for k in MATCH_KEYS
        if found and found.get(k, "") != wanted.get(k, "")
    ]
    if found and not changed:
        changed = [f"derive {found.get('derive')} lacks what {derive} computes"]
    reason = "--rebuild" if rebuild else ", ".join(changed) or "no complete bench database yet"
    log(
        f"building {database} ({size.researchers} researchers, {size.works} works; "
        f"reason: {reason})"
    )
    with timed(report.seconds, "create+migrate"):
        await recreate_database(server_url, database)
        await asyncio.to_thread(upgrade, url)
        # Built once the rows are in: faster than maintained row by row, and the same schema.
        # The graph path derives without them too; the others query through them.
        unindexed = [*COLUMNS, WORK_VECTORS, NAME_WORDS] + (
            list(GRAPH_DERIVED_TABLES) if derive == "graph" else []
        )
        deferred = await drop_indexes(url, unindexed)
    with timed(report.seconds, "load"):
        await load_source_tables(url, size, report)
        await build_search_tables(url)
    if derive != "graph":
        with timed(report.seconds, "indexes"):
            await create_indexes(url, deferred)
    log(
        f"  loaded source tables in {report.seconds['load']:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in report.rows.items())
    )
    steps: dict[str, float] = {}
    log(f"  deriving with the {derive} path ...")
    with timed(report.seconds, "derive"):
        if derive == "service":
            await derive_with_service(url, size.seed, steps)
        elif derive == "graph":
            await derive_graph_with_sql(url, steps)
        else:
            await derive_with_sql(url, size.seed, steps)
    report.seconds.update({f"derive.{k}": v for k, v in steps.items()})
    if derive == "graph":
        with timed(report.seconds, "indexes"):
            await create_indexes(url, deferred)
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


def build_seconds(report: BuildReport) -> float:
    return sum(v for k, v in report.seconds.items() if not k.startswith("derive."))


async def ensure_graph_database(
    researchers: int,
    works: int,
    *,
    rebuild: bool = False,
    server_url: str = DEFAULT_SERVER,
    log: Callable[[str], None] = print,
) -> str:
    """The URL (``postgresql://...``; asyncpg takes it as is, ``service.db.engine`` turns it
    into ``postgresql+asyncpg``) of a bench database for the co-author graph benchmark:
    ``graph_bench_size`` (about 4.8 co-author pairs per work), source tables, co-author edges,
    researcher topics and counters; clusters and trust snapshots empty. Reused when its marker
    matches (a complete database of the same size and shape serves too)."""
    size = graph_bench_size(researchers, works)
    report = await ensure_database(server_url, size, rebuild=rebuild, derive="graph", log=log)
    if not report.reused:
        log(
            f"  built {report.database} in {build_seconds(report):.0f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
        )
    return report.url


GRAPH_SUMMARY_SQL = """
SELECT
    (SELECT count(*) FROM researchers) AS researchers,
    (SELECT count(*) FROM works) AS works,
    (SELECT count(*) FROM authorships) AS authorships,
    (SELECT count(*) FROM coauthor_edges) AS coauthor_edges,
    (SELECT count(*) FROM researcher_topics) AS researcher_topics,
    (SELECT count(*) FROM researchers WHERE works_count > 0) AS researchers_with_works,
    (SELECT max(n) FROM (SELECT count(*) AS n FROM authorships GROUP BY work_id) AS s)
        AS largest_work,
    (SELECT avg(n) FROM (SELECT count(*) AS n FROM authorships GROUP BY work_id) AS s)
        AS mean_work,
    pg_database_size(current_database()) AS bytes
"""
DEGREE_SUMMARY_SQL = """
SELECT avg(n) AS mean, max(n) AS max,
       percentile_disc(ARRAY[0.5, 0.9, 0.99, 0.999]) WITHIN GROUP (ORDER BY n) AS percentiles
FROM (
    SELECT coalesce(d.n, 0) AS n
    FROM researchers AS r
    LEFT JOIN (SELECT researcher_id, count(*) AS n FROM coauthor_edges
               GROUP BY researcher_id) AS d ON d.researcher_id = r.id
) AS degrees
"""


async def graph_summary(url: str) -> dict[str, Any]:
    """Row counts, database size, work sizes and the co-author degree distribution (over every
    researcher, those without co-authors count as 0)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET work_mem = '256MB'")
        summary = dict(await connection.fetchrow(GRAPH_SUMMARY_SQL))
        degrees = await connection.fetchrow(DEGREE_SUMMARY_SQL)
    finally:
        await connection.close()
    summary["degree_mean"] = float(degrees["mean"])
    summary["degree_max"] = degrees["max"]
    summary["degree_p50_p90_p99_p999"] = list(degrees["percentiles"])
    summary["mean_work"] = float(summary["mean_work"])
    summary["pairs"] = summary["coauthor_edges"] // 2
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build (or reuse) a bench database and print its size and degree summary."
    )
    parser.add_argument("researchers", type=int)
    parser.add_argument("works", type=int)
    parser.add_argument(
        "--derive",
        choices=("graph", "sql", "service"),
        default="graph",
        help="graph (default): the co-author graph benchmark's database (ensure_graph_database, "
        "its thinner authors-per-work distribution); sql/service: a complete database with the "
        "default distribution, as bench/profile_page.py builds it",
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--server", default=DEFAULT_SERVER)
    args = parser.parse_args(argv)

    async def run() -> str:
        if args.derive == "graph":
            return await ensure_graph_database(
                args.researchers, args.works, rebuild=args.rebuild, server_url=args.server
            )
        size = GraphSize(args.researchers, args.works)
        report = await ensure_database(args.server, size, rebuild=args.rebuild, derive=args.derive)
        return report.url

    started = time.perf_counter()
    url = asyncio.run(run())
    print(f"{url} ready in {time.perf_counter() - started:.1f} s")
    for key, value in asyncio.run(graph_summary(url)).items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
