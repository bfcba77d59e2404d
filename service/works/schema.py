from __future__ import annotations

import strawberry

from service.errors import NotFound
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.works.types import Work


@strawberry.type
class WorkQuery:
    @strawberry.field(description="One work by global id.")
    async def work(self, info: Info, id: strawberry.ID) -> Work:
        _, pk = from_global_id(id, "Work")
        model = await info.context.loaders.work_by_id.load(pk)
        if model is None:
            raise NotFound(f"No work with id {id}.")
        return Work.from_model(model)
