from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from service.claims import models
from service.graphql.context import Info
from service.graphql.relay import to_global_id

if TYPE_CHECKING:
    from service.researchers.types import Researcher

strawberry.enum(models.ClaimMethod, name="ClaimMethod")
strawberry.enum(models.ClaimStatus, name="ClaimStatus")


@strawberry.type(name="Claim", description="An account's claim that a researcher record is theirs.")
class Claim:
    id: strawberry.ID
    status: models.ClaimStatus
    method: models.ClaimMethod
    created_at: dt.datetime
    verified_at: dt.datetime | None
    authorize_url: str | None = strawberry.field(
        default=None,
        description="ORCID method: where to sign in with ORCID to complete the claim. Only "
        "in the answer to requestClaim.",
    )
    researcher_id: strawberry.Private[int] = 0

    @classmethod
    def from_model(cls, m: models.Claim, authorize_url: str | None = None) -> Self:
        return cls(
            id=strawberry.ID(to_global_id("Claim", m.id)),
            status=m.status,
            method=m.method,
            created_at=m.created_at,
            verified_at=m.verified_at,
            authorize_url=authorize_url,
            researcher_id=m.researcher_id,
        )

    @strawberry.field
    async def researcher(
        self, info: Info
    ) -> Annotated[Researcher, strawberry.lazy("service.researchers.types")]:
        from service.researchers.types import Researcher

        model = await info.context.loaders.researcher_by_id.load(self.researcher_id)
        assert model is not None
        return Researcher.from_model(model)
