from __future__ import annotations

import strawberry

from service.errors import NotFound
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.topics.types import Topic


@strawberry.type
class TopicQuery:
    @strawberry.field(description="One topic (or subfield, field, domain) by global id.")
    async def topic(self, info: Info, id: strawberry.ID) -> Topic:
        _, pk = from_global_id(id, "Topic")
        model = await info.context.loaders.topic_by_id.load(pk)
        if model is None:
            raise NotFound(f"No topic with id {id}.")
        return Topic.from_model(model)
