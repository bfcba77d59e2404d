from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.db.base import table_of, utcnow
from service.db.repository import RepositoryBase, chunked, is_postgresql
from service.graph.clustering import EdgeArrays, WeightedEdge, newman_edges
from service.graph.local import ClusterTotals, Neighbourhood
from service.graph.models import Cluster, CoauthorEdge, CoauthorGraphState
from service.researchers.models import Researcher
from service.works.models import Authorship

EDGE_COLUMNS = ("researcher_id", "coauthor_id", "weight", "joint_works")
GRAPH_LOCK = 0x62_7A_67_72  # "bzgr": the advisory lock of cluster membership writers
RECLUSTER_LOCK = GRAPH_LOCK + 1  # held by the one full recluster running
IN_LIST_SIZE = 5_000


@cache
def _pair_of_authorships() -> tuple[Any, Any]:
    """The two authorships of a co-author pair (made on first use: aliasing at import would
    configure the mappers before every model module is imported)."""
    return aliased(Authorship, name="mine"), aliased(Authorship, name="theirs")


def _pairs(work_ids: Sequence[int] | Select[Any] | None = None) -> Select[int, int, float, int]:
    """Both directions of every co-author pair of these works (all works when None), with the
    sum of 1/(authors - 1) and the number of joint works. ``_pair_of_authorships`` names the
    two authorships, for callers that narrow the pairs."""
    mine, theirs = _pair_of_authorships()
    authors = select(Authorship.work_id, func.count().label("n")).group_by(Authorship.work_id)
    if work_ids is not None:
        authors = authors.where(Authorship.work_id.in_(work_ids))
    counted = authors.having(func.count() > 1).subquery()
    return (
        select(
            mine.researcher_id,
            theirs.researcher_id,
            func.sum(literal(1.0) / (counted.c.n - 1)),
            func.count(),
        )
        .join(
            theirs,
            and_(theirs.work_id == mine.work_id, theirs.researcher_id != mine.researcher_id),
        )
        .join(counted, counted.c.work_id == mine.work_id)
        .where(literal(True))  # SQLite's upsert needs a WHERE after INSERT ... SELECT ... JOIN
        .group_by(mine.researcher_id, theirs.researcher_id)
    )


def _copy_row(*fields: tuple[str, str]) -> np.dtype[Any]:
    """One row of PostgreSQL's binary COPY of fixed-size, non-NULL fields: a field count, then
    each field's length and big-endian value."""
    layout: list[tuple[str, str]] = [("fields", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_size", ">i4"), (name, kind)]
    return np.dtype(layout)


EDGE_ROW = _copy_row(("a", ">i8"), ("b", ">i8"), ("w", ">f8"))
EDGE_IN_ROW = _copy_row(
    ("researcher_id", ">i8"), ("coauthor_id", ">i8"), ("weight", ">f8"), ("joint_works", ">i4")
)
ID_PAIR_ROW = _copy_row(("a", ">i8"), ("b", ">i8"))
COPY_HEADER = 19  # signature (11), flags (4), header extension length (4, zero)
COPY_TRAILER = 2  # -1 as int16
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_END = (-1).to_bytes(2, "big", signed=True)


def rows_from_copy(data: bytes, row: np.dtype[Any]) -> npt.NDArray[Any]:
    """The rows of a binary COPY whose rows all have the layout ``row``."""
    count = (len(data) - COPY_HEADER - COPY_TRAILER) // row.itemsize
    rows = np.frombuffer(data, dtype=row, count=count, offset=COPY_HEADER)
    expected = (len(row.names or ()) - 1) // 2
    if count and not np.all(rows["fields"] == expected):
        raise ValueError("unexpected COPY row layout")
    return rows


class ClusterRepository(RepositoryBase[Cluster]):
    model = Cluster


class CoauthorGraphRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rebuild_edges(self) -> int:
        """Replace every co-author edge from the authorships, in the database: both directions
        of each pair, with Newman's weight (the rule of ``clustering.coauthor_pairs``; an
        authorship is unique per work and researcher, so a repeated author counts once).
        Returns the number of pairs."""
        await self.session.execute(delete(CoauthorEdge))
        if is_postgresql(self.session):
            # Pairs counted in numpy from the authorships, then one binary COPY: the
            # INSERT ... SELECT of every pair spilled its aggregate to disk (85 s at 100k
            # researchers, against about 10 s this way).
            works, researchers = await self._copy(
                select(Authorship.work_id, Authorship.researcher_id), ID_PAIR_ROW, ("a", "b")
            )
            edges = newman_edges(works, researchers)
            await self._copy_in(
                table_of(CoauthorEdge),
                EDGE_COLUMNS,
                EDGE_IN_ROW,
                (edges.sources, edges.targets, edges.weights, edges.joint_works),
            )
            return len(edges.sources) // 2
        result = await self.session.execute(
            insert(CoauthorEdge).from_select(list(EDGE_COLUMNS), _pairs())
        )
        return int(getattr(result, "rowcount", 0) or 0) // 2

    async def add_work_edges(self, work_ids: Sequence[int]) -> None:
        """Add what new works bring to the edges: each pair of their authors gains
        1/(authors - 1) and a joint work, in both directions, created where missing. Apply it
        once per new work (the caller's processed mark sees to that)."""
        if not work_ids:
            return
        dialect_insert = postgresql.insert if is_postgresql(self.session) else sqlite.insert
        stmt = dialect_insert(CoauthorEdge).from_select(list(EDGE_COLUMNS), _pairs(work_ids))
        stmt = stmt.on_conflict_do_update(
            index_elements=["researcher_id", "coauthor_id"],
            set_={
                "weight": CoauthorEdge.weight + stmt.excluded.weight,
                "joint_works": CoauthorEdge.joint_works + stmt.excluded.joint_works,
            },
        )
        await self.session.execute(stmt)

    async def recount_edges_among(
        self, researcher_ids: Sequence[int]
    ) -> dict[tuple[int, int], float]:
        """Recount every co-author edge between two of these researchers from the authorships
        (pairs gained, changed and lost alike) and store it, in both directions. Returns each
        changed pair's weight change (lower id first). Exact whatever the stored edges said, so
        safe to run again."""
        ids = sorted(set(researcher_ids))
        if len(ids) < 2:
            return {}
        stored: dict[tuple[int, int], float] = {}
        recounted: dict[tuple[int, int], tuple[float, int]] = {}
        for batch in chunked(ids, IN_LIST_SIZE):
            stmt = select(
                CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight
            ).where(
                CoauthorEdge.researcher_id.in_(batch),
                CoauthorEdge.coauthor_id.in_(ids),
                CoauthorEdge.researcher_id < CoauthorEdge.coauthor_id,
            )
            stored.update(((a, b), w) for a, b, w in await self.session.execute(stmt))
            works = select(Authorship.work_id).where(Authorship.researcher_id.in_(batch))
            mine, theirs = _pair_of_authorships()
            pairs = (
                _pairs(works)
                .where(mine.researcher_id.in_(batch), theirs.researcher_id.in_(ids))
                .where(mine.researcher_id < theirs.researcher_id)
            )
            recounted.update(((a, b), (w, n)) for a, b, w, n in await self.session.execute(pairs))
        changes = {
            pair: recounted.get(pair, (0.0, 0))[0] - stored.get(pair, 0.0)
            for pair in stored.keys() | recounted.keys()
        }
        changes = {pair: delta for pair, delta in changes.items() if abs(delta) > 1e-12}
        gone = [(x, y) for a, b in stored if (a, b) not in recounted for x, y in ((a, b), (b, a))]
        for directed in chunked(gone, IN_LIST_SIZE):
            await self.session.execute(
                delete(CoauthorEdge).where(
                    tuple_(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id).in_(directed)
                )
            )
        rows = [
            {"researcher_id": x, "coauthor_id": y, "weight": w, "joint_works": n}
            for (a, b), (w, n) in sorted(recounted.items())
            for x, y in ((a, b), (b, a))
        ]
        if rows:
            dialect_insert = postgresql.insert if is_postgresql(self.session) else sqlite.insert
            upsert = dialect_insert(CoauthorEdge)
            await self.session.execute(
                upsert.on_conflict_do_update(
                    index_elements=["researcher_id", "coauthor_id"],
                    set_={
                        "weight": upsert.excluded.weight,
                        "joint_works": upsert.excluded.joint_works,
                    },
                ),
                rows,
            )
        return changes

    async def add_to_totals(self, changes: Mapping[tuple[int, int], float]) -> None:
        """Move the graph's total weight and the clusters' strengths (each member's weighted
        degree summed) by these pair weight changes."""
        if not changes:
            return
        await self._update_state(
            total_weight=CoauthorGraphState.total_weight + sum(changes.values())
        )
        ends = sorted({r for pair in changes for r in pair})
        clusters = dict(
            (
                await self.session.execute(
                    select(Researcher.id, Researcher.cluster_id).where(Researcher.id.in_(ends))
                )
            ).all()
        )
        gains: dict[int, float] = {}
        for (a, b), delta in changes.items():
            for end in (a, b):
                if (cluster := clusters.get(end)) is not None:
                    gains[cluster] = gains.get(cluster, 0.0) + delta
        if gains:
            clusters_table = table_of(Cluster)
            await self.session.execute(
                update(clusters_table)
                .where(clusters_table.c.id == bindparam("b_id"))
                .values(strength=clusters_table.c.strength + bindparam("b_gain")),
                [{"b_id": c, "b_gain": g} for c, g in sorted(gains.items())],
            )

    async def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see the rebuilt graph. Without it, later statements of the
        same transaction plan with the statistics of the empty tables, and the close-collaborator
        counts join every pair of a cluster's members (minutes at 100k researchers)."""
        if is_postgresql(self.session):
            await self.session.execute(text("ANALYZE coauthor_edges, researchers, clusters"))

    async def joint_works(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """Joint works of each (researcher, co-author) pair that has an edge."""
        found: dict[tuple[int, int], int] = {}
        for batch in chunked(sorted(set(pairs)), IN_LIST_SIZE // 2):
            stmt = select(
                CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.joint_works
            ).where(tuple_(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id).in_(batch))
            found.update(((a, b), n) for a, b, n in await self.session.execute(stmt))
        return found

    # Whole-graph state

    async def lock(self) -> None:
        """Serialise writers of cluster memberships until the transaction ends (PostgreSQL;
        SQLite has one writer). Taken before any researcher row lock, so no deadlock."""
        if is_postgresql(self.session):
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": GRAPH_LOCK}
            )

    async def try_lock_reclustering(self) -> bool:
        """Whether this transaction is now the only full recluster running (PostgreSQL)."""
        if not is_postgresql(self.session):
            return True
        stmt = text("SELECT pg_try_advisory_xact_lock(:key)")
        return bool(await self.session.scalar(stmt, {"key": RECLUSTER_LOCK}))

    async def total_weight(self) -> float:
        stmt = select(CoauthorGraphState.total_weight).where(CoauthorGraphState.id == 1)
        return float(await self.session.scalar(stmt) or 0.0)

    async def reclustered_at(self) -> dt.datetime | None:
        stmt = select(CoauthorGraphState.reclustered_at).where(CoauthorGraphState.id == 1)
        return await self.session.scalar(stmt)

    async def recount_total_weight(self) -> None:
        summed = select(func.coalesce(func.sum(CoauthorEdge.weight), 0) / 2).scalar_subquery()
        await self._update_state(total_weight=summed)  # both directions stored: halved

    async def add_to_total_weight(self, work_ids: Sequence[int]) -> None:
        """A work with n distinct authors adds n(n-1)/2 pairs of weight 1/(n-1): n/2 in all."""
        authors = (
            select(func.count().label("n"))
            .where(Authorship.work_id.in_(work_ids))
            .group_by(Authorship.work_id)
            .having(func.count() > 1)
            .subquery()
        )
        added = select(func.coalesce(func.sum(authors.c.n), 0) / 2.0).scalar_subquery()
        await self._update_state(total_weight=CoauthorGraphState.total_weight + added)

    async def record_recluster(self, modularity: float) -> None:
        await self._update_state(modularity=modularity, reclustered_at=utcnow())

    async def _update_state(self, **values: Any) -> None:
        stmt = update(CoauthorGraphState).where(CoauthorGraphState.id == 1).values(**values)
        await self.session.execute(stmt)

    # Clusters

    async def all_edges(self) -> EdgeArrays:
        """Every pair once (``researcher_id < coauthor_id``), as arrays. On PostgreSQL by
        binary COPY straight into them: 9.5M pairs as rows took tens of seconds."""
        stmt = select(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight)
        stmt = stmt.where(CoauthorEdge.researcher_id < CoauthorEdge.coauthor_id)
        if not is_postgresql(self.session):
            return EdgeArrays.of((a, b, w) for a, b, w in await self.session.execute(stmt))
        sources, targets, weights = await self._copy(stmt, EDGE_ROW, ("a", "b", "w"))
        return EdgeArrays(sources, targets, weights)

    async def _copy(
        self, stmt: Any, row: np.dtype[Any], fields: Sequence[str]
    ) -> list[npt.NDArray[Any]]:
        """Run ``stmt`` as PostgreSQL's binary COPY straight into arrays, one per field."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        chunks: list[bytes] = []

        async def collect(chunk: bytes) -> None:
            chunks.append(chunk)

        sql = str(stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        driver: Any = raw.driver_connection  # asyncpg's Connection
        await driver.copy_from_query(sql, output=collect, format="binary")
        rows = rows_from_copy(b"".join(chunks), row)
        return [rows[name].astype(rows[name].dtype.newbyteorder("=")) for name in fields]

    async def _copy_in(
        self,
        table: Table,
        columns: Sequence[str],
        row: np.dtype[Any],
        values: Sequence[npt.NDArray[Any]],
    ) -> None:
        """Append rows (one array per column) to ``table`` by PostgreSQL's binary COPY."""
        rows = np.empty(len(values[0]), dtype=row)
        rows["fields"] = len(columns)
        for name, column in zip(columns, values, strict=True):
            rows[f"{name}_size"] = row[name].itemsize
            rows[name] = column
        payload = COPY_SIGNATURE + rows.tobytes() + COPY_END
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection  # asyncpg's Connection
        await driver.copy_to_table(
            table.name, source=io.BytesIO(payload), columns=list(columns), format="binary"
        )

    async def memberships(self) -> dict[int, int | None]:
        """Every researcher's cluster id (by binary COPY on PostgreSQL, like the edges)."""
        stmt = select(Researcher.id, func.coalesce(Researcher.cluster_id, 0))
        if not is_postgresql(self.session):
            return {r: c or None for r, c in await self.session.execute(stmt)}
        ids, clusters = await self._copy(stmt, ID_PAIR_ROW, ("a", "b"))
        return {r: c or None for r, c in zip(ids.tolist(), clusters.tolist(), strict=True)}

    async def edges_from(self, researcher_ids: Sequence[int]) -> list[WeightedEdge]:
        """Every edge row leaving these researchers (each pair inside the set twice)."""
        edges: list[WeightedEdge] = []
        for batch in chunked(sorted(researcher_ids), IN_LIST_SIZE):
            stmt = select(
                CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight
            ).where(CoauthorEdge.researcher_id.in_(batch))
            edges.extend((a, b, w) for a, b, w in await self.session.execute(stmt))
        return edges

    async def create_clusters(self, totals: Sequence[ClusterTotals]) -> list[int]:
        if not totals:
            return []
        stmt = insert(Cluster).returning(Cluster.id, sort_by_parameter_order=True)
        rows = [{"size": t.size, "strength": t.strength} for t in totals]
        return list((await self.session.scalars(stmt, rows)).all())

    async def set_memberships(self, changes: Mapping[int, int | None]) -> None:
        """Researcher id -> its new cluster id (None: no cluster)."""
        await self._set_by_id(table_of(Researcher), "cluster_id", changes)

    async def set_cluster_totals(self, totals: Mapping[int, ClusterTotals]) -> None:
        await self._set_by_id(table_of(Cluster), "size", {c: t.size for c, t in totals.items()})
        strengths = {c: t.strength for c, t in totals.items()}
        await self._set_by_id(table_of(Cluster), "strength", strengths)

    async def merge_cluster(self, absorbed: int, keeper: int) -> list[int]:
        """Move every member of ``absorbed`` to ``keeper``; returns them."""
        stmt = (
            update(Researcher)
            .where(Researcher.cluster_id == absorbed)
            .values(cluster_id=keeper)
            .returning(Researcher.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def add_to_cluster_strengths(self, work_ids: Sequence[int]) -> None:
        """A work with n >= 2 distinct authors adds exactly 1 to each author's weighted degree
        (n - 1 co-authors at 1/(n - 1) each): so to their clusters' strengths."""
        shared = (
            select(Authorship.work_id)
            .where(Authorship.work_id.in_(work_ids))
            .group_by(Authorship.work_id)
            .having(func.count() > 1)
        )
        authors = (
            select(Researcher.cluster_id)
            .join(Authorship, Authorship.researcher_id == Researcher.id)
            .where(Authorship.work_id.in_(shared))
        )
        gain = (
            authors.with_only_columns(func.count())
            .where(Researcher.cluster_id == Cluster.id)
            .scalar_subquery()
        )
        await self.session.execute(
            update(Cluster)
            .where(Cluster.id.in_(authors.where(Researcher.cluster_id.is_not(None))))
            .values(strength=Cluster.strength + gain)
        )

    async def neighbourhood(self, authors: Sequence[int], per_author: int) -> Neighbourhood:
        """The authors, their ``per_author`` heaviest co-authors each, their edges, and the
        clusters around them (see ``service.graph.local``)."""
        membership: dict[int, int | None] = {
            r: c
            for r, c in await self.session.execute(
                select(Researcher.id, Researcher.cluster_id).where(Researcher.id.in_(authors))
            )
        }
        rows = await self._edges_with_clusters(list(membership))
        heaviest: dict[int, list[tuple[float, int, int | None]]] = {}
        for a, b, weight, cluster_id in rows:
            heaviest.setdefault(a, []).append((-weight, b, cluster_id))
        for candidates in heaviest.values():
            for _, b, cluster_id in sorted(candidates)[:per_author]:
                membership.setdefault(b, cluster_id)
        rows += await self._edges_with_clusters([r for r in membership if r not in heaviest])
        hood = Neighbourhood(membership, strengths={}, inner=[], outer={}, clusters={})
        for a, b, weight, cluster_id in rows:
            if a not in membership:
                continue
            hood.strengths[a] = hood.strengths.get(a, 0.0) + weight
            if b in membership:
                if a < b:
                    hood.inner.append((a, b, weight))
            elif cluster_id is not None:
                key = (a, cluster_id)
                hood.outer[key] = hood.outer.get(key, 0.0) + weight
        for node in membership:
            hood.strengths.setdefault(node, 0.0)
        touched = {c for c in membership.values() if c is not None} | {c for _, c in hood.outer}
        if touched:
            stmt = select(Cluster.id, Cluster.size, Cluster.strength).where(
                Cluster.id.in_(sorted(touched))
            )
            hood.clusters = {c: ClusterTotals(n, s) for c, n, s in await self.session.execute(stmt)}
        hood.inner.sort()
        return hood

    async def _edges_with_clusters(
        self, researcher_ids: Sequence[int]
    ) -> list[tuple[int, int, float, int | None]]:
        if not researcher_ids:
            return []
        stmt = (
            select(
                CoauthorEdge.researcher_id,
                CoauthorEdge.coauthor_id,
                CoauthorEdge.weight,
                Researcher.cluster_id,
            )
            .join(Researcher, Researcher.id == CoauthorEdge.coauthor_id)
            .where(CoauthorEdge.researcher_id.in_(researcher_ids))
        )
        return [(a, b, w, c) for a, b, w, c in await self.session.execute(stmt)]

    async def delete_empty_clusters(self, cluster_ids: Sequence[int]) -> None:
        """Delete those of these clusters that no researcher belongs to any more."""
        members = select(Researcher.id).where(Researcher.cluster_id == Cluster.id).exists()
        for batch in chunked(sorted(cluster_ids), IN_LIST_SIZE):
            await self.session.execute(delete(Cluster).where(Cluster.id.in_(batch), ~members))

    async def _set_by_id(self, table: Table, column: str, values: Mapping[int, Any]) -> None:
        if not values:
            return
        if is_postgresql(self.session):
            # One statement from two arrays: executemany of a million rows takes minutes.
            sql_type = {"size": "integer", "strength": "double precision"}.get(column, "bigint")
            await self.session.execute(
                text(
                    f"UPDATE {table.name} SET {column} = v.value "
                    f"FROM unnest(CAST(:ids AS bigint[]), CAST(:values AS {sql_type}[])) "
                    f"AS v(id, value) WHERE {table.name}.id = v.id"
                ),
                {"ids": list(values), "values": list(values.values())},
            )
            return
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({column: bindparam("b_value")})
        )
        await self.session.execute(
            stmt, [{"b_id": key, "b_value": value} for key, value in values.items()]
        )
