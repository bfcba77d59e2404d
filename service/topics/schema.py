from __future__ import annotations

import strawberry

from service.graphql.context import Info
from service.graphql.relay import node_by_id
from service.topics.types import Topic


@strawberry.type
class TopicQuery:
    @strawberry.field(description="One topic (or subfield, field, domain) by global id.")
    async def topic(self, info: Info, id: strawberry.ID) -> Topic:
        return await node_by_id(info, Topic, id)
