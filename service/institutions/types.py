from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

import strawberry
from strawberry import relay

from service.graphql.context import Info
from service.institutions import models


@strawberry.type(name="Institution")
class Institution(relay.Node):
    id: relay.NodeID[int]
    display_name: str
    ror_id: str | None
    openalex_id: str | None
    country_code: str | None
    type: str | None
    homepage_url: str | None

    @classmethod
    def from_model(cls, m: models.Institution) -> Self:
        return cls(
            id=m.id,
            display_name=m.display_name,
            ror_id=m.ror_id,
            openalex_id=m.openalex_id,
            country_code=m.country_code,
            type=m.type,
            homepage_url=m.homepage_url,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        found = await info.context.loaders.institution_by_id.load_many([int(i) for i in node_ids])
        return [cls.from_model(m) if m else None for m in found]
