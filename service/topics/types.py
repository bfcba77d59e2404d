from __future__ import annotations

from typing import Self

import strawberry
from strawberry import relay

from service.graphql.context import Info
from service.graphql.relay import LoadedNode
from service.topics import models

strawberry.enum(models.TopicLevel, name="TopicLevel")


@strawberry.type(name="Topic")
class Topic(LoadedNode):
    loader_name = "topic_by_id"

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
