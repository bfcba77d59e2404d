from __future__ import annotations

import strawberry

from service.graphql.context import Info
from service.graphql.relay import node_by_id
from service.works.types import Work


@strawberry.type
class WorkQuery:
    @strawberry.field(description="One work by global id.")
    async def work(self, info: Info, id: strawberry.ID) -> Work:
        return await node_by_id(info, Work, id)
