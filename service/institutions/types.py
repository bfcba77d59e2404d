from __future__ import annotations

from typing import Self

import strawberry
from strawberry import relay

from service.graphql.relay import LoadedNode
from service.institutions import models


@strawberry.type(name="Institution")
class Institution(LoadedNode):
    loader_name = "institution_by_id"

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
