"""SQL of the graph slice: each relation's neighbours of many nodes in one statement, capped
per node, and the edges among a set of nodes.

On PostgreSQL each node's neighbours come from a LATERAL subquery that reads at most
``fanout + 1`` rows down an index (a prolific author's thousands of works are never read), and
ids travel as one array parameter, so every statement's text is the same whatever the number of
nodes and its prepared statement is reused. SQLite, which has no LATERAL, ranks every row of
the nodes with a window function instead; ``tests/graph/test_neighbourhood.py`` shows both give
the same slices."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, func, literal, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from service.db.paging import statement
from service.db.repository import is_postgresql, member_of
from service.graph.models import CoauthorEdge
from service.graph.slice import EdgeKind, NodeKind, SliceEdge
from service.researchers.models import Researcher, ResearcherTopic
from service.works.models import Authorship, WorkTopic

R, W, T, INST = NodeKind.RESEARCHER, NodeKind.WORK, NodeKind.TOPIC, NodeKind.INSTITUTION
Triples = Select[tuple[int, int, float]] | Any
"""(known or source id, other or target id, weight) rows."""


class Relation:
    """One way out of nodes of one kind: the edge kind, which end the known nodes are, and
    the statement listing (known id, other id, weight) in order of preference."""

    def __init__(
        self,
        kind: EdgeKind,
        known: NodeKind,
        other: NodeKind,
        rows: Triples,
        order: Sequence[Any],
        *,
        known_is_source: bool,
    ) -> None:
        self.kind = kind
        self.known = known
        self.other = other
        self.rows = rows
        self.order = order
        self.known_is_source = known_is_source

    def edge(self, known_id: int, other_id: int, weight: float) -> SliceEdge:
        mine, theirs = (self.known, known_id), (self.other, other_id)
        if self.kind is EdgeKind.COAUTHOR and other_id < known_id:
            mine, theirs = theirs, mine  # one edge per pair, lower id first
        elif not self.known_is_source:
            mine, theirs = theirs, mine
        return SliceEdge(mine, theirs, self.kind, float(weight))


def _relations() -> dict[NodeKind, list[Relation]]:
    coauthors = Relation(
        EdgeKind.COAUTHOR,
        R,
        R,
        select(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight),
        (CoauthorEdge.weight.desc(), CoauthorEdge.coauthor_id),
        known_is_source=True,
    )
    works = Relation(
        EdgeKind.AUTHORED,
        R,
        W,
        select(Authorship.researcher_id, Authorship.work_id, literal(1.0)),
        # The latest stored first: the (researcher, work) index answers it without reading
        # the works (ordering by citations read every work row: 39 ms of a 170 ms slice).
        (Authorship.work_id.desc(),),
        known_is_source=True,
    )
    researcher_topics = Relation(
        EdgeKind.HAS_TOPIC,
        R,
        T,
        select(ResearcherTopic.researcher_id, ResearcherTopic.topic_id, ResearcherTopic.work_count),
        (ResearcherTopic.work_count.desc(), ResearcherTopic.topic_id),
        known_is_source=True,
    )
    affiliation = Relation(
        EdgeKind.AFFILIATED,
        R,
        INST,
        select(Researcher.id, Researcher.affiliation_id, literal(1.0)).where(
            Researcher.affiliation_id.is_not(None)
        ),
        (Researcher.id,),
        known_is_source=True,
    )
    authors = Relation(
        EdgeKind.AUTHORED,
        W,
        R,
        select(Authorship.work_id, Authorship.researcher_id, literal(1.0)),
        (Authorship.position, Authorship.researcher_id),
        known_is_source=False,
    )
    work_topics = Relation(
        EdgeKind.HAS_TOPIC,
        W,
        T,
        select(WorkTopic.work_id, WorkTopic.topic_id, WorkTopic.score),
        (WorkTopic.score.desc(), WorkTopic.topic_id),
        known_is_source=True,
    )
    topic_researchers = Relation(
        EdgeKind.HAS_TOPIC,
        T,
        R,
        select(ResearcherTopic.topic_id, ResearcherTopic.researcher_id, ResearcherTopic.work_count),
        (ResearcherTopic.work_count.desc(), ResearcherTopic.researcher_id),
        known_is_source=False,
    )
    members = Relation(
        EdgeKind.AFFILIATED,
        INST,
        R,
        select(Researcher.affiliation_id, Researcher.id, literal(1.0)),
        (Researcher.works_count.desc(), Researcher.id),
        known_is_source=False,
    )
    return {
        R: [coauthors, works, researcher_topics, affiliation],
        W: [authors, work_topics],
        T: [topic_researchers],
        INST: [members],
    }


RELATIONS = _relations()
HUBS = frozenset({T, INST})
"""Kinds expanded only from the center: a topic or an institution reached on the way has
hundreds of researchers, few of them related to the center."""


def first_per_node_lateral(relation: Relation) -> Select[Any]:
    """(known id, other id, weight, rank) of the first ``:n`` neighbours of each id in the
    array ``:ids``, ordered by id and rank; PostgreSQL."""
    ids = bindparam("ids", type_=postgresql.ARRAY(BigInteger))
    keys = select(func.unnest(ids).label("id")).subquery("k")
    known = relation.rows.selected_columns[0]
    first = (
        relation.rows.add_columns(func.row_number().over(order_by=relation.order).label("rank"))
        .where(known == keys.c.id)
        .order_by(*relation.order)
        .limit(bindparam("n"))
        .lateral("e")
    )
    columns = list(first.c)
    return select(*columns).select_from(keys.join(first, true())).order_by(columns[0], first.c.rank)


def first_per_node_window(relation: Relation) -> Select[Any]:
    """The same rows as ``first_per_node_lateral``, by ranking every row of the ids (given as
    an expanding ``:ids``) with a window function; any database."""
    known = relation.rows.selected_columns[0]
    ranked = (
        relation.rows.add_columns(
            func.row_number().over(partition_by=known, order_by=relation.order).label("rank")
        )
        .where(known.in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    columns = list(ranked.c)
    return (
        select(*columns).where(ranked.c.rank <= bindparam("n")).order_by(columns[0], ranked.c.rank)
    )


class NeighbourhoodRepository:
    def __init__(self, session: AsyncSession, *, arrays: bool | None = None) -> None:
        self.session = session
        self.arrays = is_postgresql(session) if arrays is None else arrays
        """LATERAL and array parameters (PostgreSQL); off, the statements any database runs."""

    async def neighbours(
        self, relation: Relation, ids: Sequence[int], fanout: int
    ) -> tuple[list[SliceEdge], bool]:
        """The first ``fanout`` neighbours of each of these nodes by ``relation``, in one
        statement; and whether any node had more (a capped supernode)."""
        if self.arrays:
            stmt = statement(
                (Relation, id(relation), "lateral"), lambda: first_per_node_lateral(relation)
            )
        else:
            stmt = statement(
                (Relation, id(relation), "window"), lambda: first_per_node_window(relation)
            )
        # One row past the fanout says that a node has more neighbours than it shows.
        rows = await self.session.execute(stmt, {"ids": list(ids), "n": fanout + 1})
        return self.capped_edges(relation, rows.all(), fanout)

    @staticmethod
    def capped_edges(
        relation: Relation, rows: Sequence[Any], fanout: int
    ) -> tuple[list[SliceEdge], bool]:
        edges: list[SliceEdge] = []
        capped = False
        for known_id, other_id, weight, rank in rows:
            if rank > fanout:
                capped = True
            else:
                edges.append(relation.edge(known_id, other_id, weight))
        return edges, capped

    async def edges_among(self, nodes: Sequence[tuple[NodeKind, int]]) -> list[SliceEdge]:
        """Every edge of the four kinds whose both ends are among ``nodes``."""
        ids: dict[NodeKind, list[int]] = {kind: [] for kind in NodeKind}
        for kind, node_id in nodes:
            ids[kind].append(node_id)
        edges: list[SliceEdge] = []
        for among in AMONG:
            a, b = among.ends
            if len(ids[a]) < (2 if a is b else 1) or not ids[b]:
                continue
            stmt = statement((Among, id(among), self.arrays), partial(among.statement, self.arrays))
            rows = await self.session.execute(stmt, {"a": ids[a], "b": ids[b]})
            edges.extend(SliceEdge((a, x), (b, y), among.kind, float(w)) for x, y, w in rows)
        return edges


class Among:
    """Edges of one kind between two sets of nodes: ``rows`` selects (source id, target id,
    weight), ``source`` and ``target`` are the columns matched against ``:a`` and ``:b``."""

    def __init__(
        self,
        kind: EdgeKind,
        ends: tuple[NodeKind, NodeKind],
        rows: Triples,
        source: Any,
        target: Any,
        *extra: ColumnElement[bool],
    ) -> None:
        self.kind, self.ends, self.rows = kind, ends, rows
        self.source, self.target, self.extra = source, target, extra

    def statement(self, arrays: bool) -> Select[Any]:
        return self.rows.where(
            member_of(self.source, "a", arrays),
            member_of(self.target, "b", arrays),
            *self.extra,
        )


AMONG = (
    Among(
        EdgeKind.COAUTHOR,
        (R, R),
        select(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight),
        CoauthorEdge.researcher_id,
        CoauthorEdge.coauthor_id,
        CoauthorEdge.researcher_id < CoauthorEdge.coauthor_id,
    ),
    Among(
        EdgeKind.AUTHORED,
        (R, W),
        select(Authorship.researcher_id, Authorship.work_id, literal(1.0)),
        Authorship.researcher_id,
        Authorship.work_id,
    ),
    Among(
        EdgeKind.HAS_TOPIC,
        (W, T),
        select(WorkTopic.work_id, WorkTopic.topic_id, WorkTopic.score),
        WorkTopic.work_id,
        WorkTopic.topic_id,
    ),
    Among(
        EdgeKind.HAS_TOPIC,
        (R, T),
        select(ResearcherTopic.researcher_id, ResearcherTopic.topic_id, ResearcherTopic.work_count),
        ResearcherTopic.researcher_id,
        ResearcherTopic.topic_id,
    ),
    Among(
        EdgeKind.AFFILIATED,
        (R, INST),
        select(Researcher.id, Researcher.affiliation_id, literal(1.0)),
        Researcher.id,
        Researcher.affiliation_id,
    ),
)
"""The edges a slice draws among its kept nodes, in the order they are read."""
