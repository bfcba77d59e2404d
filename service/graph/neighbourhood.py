"""SQL of the graph slice: each relation's neighbours of many nodes in one statement, capped
per node, and the edges among a set of nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

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


class NeighbourhoodRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def neighbours(
        self, relation: Relation, ids: Sequence[int], fanout: int
    ) -> tuple[list[SliceEdge], bool]:
        """The first ``fanout`` neighbours of each of these nodes by ``relation``, in one
        statement; and whether any node had more (a capped supernode)."""
        known = relation.rows.selected_columns[0]
        ranked = (
            relation.rows.add_columns(
                func.row_number().over(partition_by=known, order_by=relation.order).label("rank"),
                func.count().over(partition_by=known).label("total"),
            )
            .where(known.in_(ids))
            .subquery()
        )
        columns = list(ranked.c)
        stmt = select(*columns[:3], ranked.c.total).where(ranked.c.rank <= fanout)
        edges: list[SliceEdge] = []
        capped = False
        for row in await self.session.execute(stmt):
            edges.append(relation.edge(row[0], row[1], row[2]))
            capped = capped or row[3] > fanout
        return edges, capped

    async def edges_among(self, nodes: Sequence[tuple[NodeKind, int]]) -> list[SliceEdge]:
        """Every edge of the four kinds whose both ends are among ``nodes``."""
        ids: dict[NodeKind, list[int]] = {kind: [] for kind in NodeKind}
        for kind, node_id in nodes:
            ids[kind].append(node_id)
        researchers, works, topics, institutions = ids[R], ids[W], ids[T], ids[INST]
        edges: list[SliceEdge] = []

        async def add(kind: EdgeKind, ends: tuple[NodeKind, NodeKind], stmt: Triples) -> None:
            for a, b, weight in await self.session.execute(stmt):
                edges.append(SliceEdge((ends[0], a), (ends[1], b), kind, float(weight)))

        if len(researchers) > 1:
            await add(
                EdgeKind.COAUTHOR,
                (R, R),
                select(
                    CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id, CoauthorEdge.weight
                ).where(
                    CoauthorEdge.researcher_id.in_(researchers),
                    CoauthorEdge.coauthor_id.in_(researchers),
                    CoauthorEdge.researcher_id < CoauthorEdge.coauthor_id,
                ),
            )
        if researchers and works:
            await add(
                EdgeKind.AUTHORED,
                (R, W),
                select(Authorship.researcher_id, Authorship.work_id, literal(1.0)).where(
                    Authorship.researcher_id.in_(researchers), Authorship.work_id.in_(works)
                ),
            )
        if works and topics:
            await add(
                EdgeKind.HAS_TOPIC,
                (W, T),
                select(WorkTopic.work_id, WorkTopic.topic_id, WorkTopic.score).where(
                    WorkTopic.work_id.in_(works), WorkTopic.topic_id.in_(topics)
                ),
            )
        if researchers and topics:
            await add(
                EdgeKind.HAS_TOPIC,
                (R, T),
                select(
                    ResearcherTopic.researcher_id,
                    ResearcherTopic.topic_id,
                    ResearcherTopic.work_count,
                ).where(
                    ResearcherTopic.researcher_id.in_(researchers),
                    ResearcherTopic.topic_id.in_(topics),
                ),
            )
        if researchers and institutions:
            await add(
                EdgeKind.AFFILIATED,
                (R, INST),
                select(Researcher.id, Researcher.affiliation_id, literal(1.0)).where(
                    Researcher.id.in_(researchers), Researcher.affiliation_id.in_(institutions)
                ),
            )
        return edges
