from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

import strawberry
from strawberry import relay

from service.graphql.context import Info
from service.topics import models

strawberry.enum(models.TopicLevel, name="TopicLevel")


@strawberry.type(name="Topic")
class Topic(relay.Node):
    id: relay.NodeID[int]
    display_name: str
    level: models.TopicLevel
    openalex_id: str | None
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.Topic) -> Self:
        return cls(
            id=m.id,
            display_name=m.display_name,
            level=m.level,
            openalex_id=m.openalex_id,
            parent_id=m.parent_id,
        )

    @strawberry.field(description="The subfield, field or domain above this topic.")
    async def parent(self, info: Info) -> Topic | None:
        if self.parent_id is None:
            return None
        parent = await info.context.loaders.topic_by_id.load(self.parent_id)
        return Topic.from_model(parent) if parent else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        found = await info.context.loaders.topic_by_id.load_many([int(i) for i in node_ids])
        return [cls.from_model(m) if m else None for m in found]
