from __future__ import annotations

from typing import Annotated, Self

import strawberry
from strawberry import relay

from service.graph import models
from service.graph.slice import EdgeKind, GraphSlice, NodeKey, NodeKind, SliceEdge
from service.graphql.context import Info
from service.graphql.relay import Connection, LoadedNode, paged_connection, to_global_id
from service.institutions.types import Institution
from service.researchers.repository import BY_CLOSE_COLLABORATORS
from service.researchers.types import Researcher
from service.topics.types import Topic
from service.works.types import Work

MAX_TOP_TOPICS = 20


@strawberry.type(
    name="Cluster",
    description="A collaborator cluster: a Leiden community of the "
    "co-author graph. Its id survives reclustering while its membership barely changes.",
)
class Cluster(LoadedNode):
    loader_name = "cluster_by_id"

    id: relay.NodeID[int]
    size: int

    @classmethod
    def from_model(cls, m: models.Cluster) -> Self:
        return cls(id=m.id, size=m.size)

    @strawberry.field(description="Members, the most connected within the cluster first.")
    async def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Researcher]:
        size = self.size
        loaders = info.context.loaders

        async def count() -> int:
            return size

        return await paged_connection(
            info,
            BY_CLOSE_COLLABORATORS,
            loader=loaders.member_page_by_cluster,
            parent_id=int(self.id),
            convert=Researcher.from_model,
            count=count,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Topics the members' works share most, at most 20.")
    async def top_topics(self, info: Info, first: int = 5) -> list[Topic]:
        first = max(0, min(first, MAX_TOP_TOPICS))
        loaders = info.context.loaders
        topic_ids = await loaders.top_topic_ids_by_cluster.load((int(self.id), first))
        topics = await loaders.topic_by_id.load_many(topic_ids)
        return [Topic.from_model(t) for t in topics if t is not None]


GraphEdgeKind = strawberry.enum(EdgeKind, name="GraphEdgeKind")

GraphEntity = Annotated[Researcher | Work | Topic | Institution, strawberry.union("GraphEntity")]

LOADERS = {
    NodeKind.RESEARCHER: ("researcher_by_id", Researcher),
    NodeKind.WORK: ("work_by_id", Work),
    NodeKind.TOPIC: ("topic_by_id", Topic),
    NodeKind.INSTITUTION: ("institution_by_id", Institution),
}


def global_id(node: NodeKey) -> strawberry.ID:
    kind, pk = node
    return strawberry.ID(to_global_id(kind.value, pk))


@strawberry.type(description="A node of a graph slice and its relevance to the center.")
class GraphNode:
    id: strawberry.ID
    score: float = strawberry.field(
        description="Personalised PageRank from the center over the slice's edges (restart "
        "0.15): the share of short weighted walks from the center that end here. The center "
        "scores highest; scores of one slice sum to at most 1. Given to 9 decimals; equal "
        "scores are ordered by type and id."
    )
    key: strawberry.Private[NodeKey]

    @strawberry.field
    async def node(self, info: Info) -> GraphEntity:
        kind, pk = self.key
        loader_name, node_type = LOADERS[kind]
        model = await getattr(info.context.loaders, loader_name).load(pk)
        return node_type.from_model(model)  # type: ignore[attr-defined, no-any-return]


@strawberry.type(description="A typed edge of a graph slice, between two of its nodes' ids.")
class GraphEdge:
    source: strawberry.ID
    target: strawberry.ID
    kind: GraphEdgeKind  # type: ignore[valid-type]
    weight: float = strawberry.field(
        description="COAUTHOR: Newman's weight; HAS_TOPIC: the topic's score on a work, or a "
        "researcher's works on it; AUTHORED and AFFILIATED: 1."
    )

    @classmethod
    def from_edge(cls, edge: SliceEdge) -> Self:
        return cls(
            source=global_id(edge.source),
            target=global_id(edge.target),
            kind=edge.kind,
            weight=edge.weight,
        )


@strawberry.type(name="GraphSlice", description="The graph around one node, ranked and cut.")
class GraphSliceType:
    truncated: bool = strawberry.field(
        description="Whether nodes were left out: cut at the limit, or past a node's fan-out "
        "cap (a supernode such as a 100-author work)."
    )
    nodes: list[GraphNode]
    edges: list[GraphEdge]

    @classmethod
    def from_slice(cls, found: GraphSlice) -> Self:
        return cls(
            truncated=found.truncated,
            nodes=[GraphNode(id=global_id(n), score=s, key=n) for n, s in found.nodes],
            edges=[GraphEdge.from_edge(e) for e in found.edges],
        )
