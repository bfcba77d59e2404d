from __future__ import annotations

import strawberry

from service.graphql.context import Info
from service.graphql.relay import node_by_id
from service.institutions.types import Institution


@strawberry.type
class InstitutionQuery:
    @strawberry.field(description="One institution by global id.")
    async def institution(self, info: Info, id: strawberry.ID) -> Institution:
        return await node_by_id(info, Institution, id)
