from __future__ import annotations

import strawberry

from service.errors import NotFound
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.institutions.types import Institution


@strawberry.type
class InstitutionQuery:
    @strawberry.field(description="One institution by global id.")
    async def institution(self, info: Info, id: strawberry.ID) -> Institution:
        _, pk = from_global_id(id, "Institution")
        model = await info.context.loaders.institution_by_id.load(pk)
        if model is None:
            raise NotFound(f"No institution with id {id}.")
        return Institution.from_model(model)
