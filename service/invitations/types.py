from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from service.claims.models import ClaimStatus
from service.db.paging import Page
from service.graphql.context import Info
from service.graphql.relay import Connection, build_connection, page_args, to_global_id
from service.invitations import models
from service.invitations.repository import BY_NEWEST, InvitationRepository

if TYPE_CHECKING:
    from service.researchers.types import Researcher

strawberry.enum(models.InvitationStatus, name="InvitationStatus")


@strawberry.type(name="Invitation", description="An invitation to collaborate.")
class Invitation:
    id: strawberry.ID
    status: models.InvitationStatus
    message: str
    created_at: dt.datetime
    responded_at: dt.datetime | None
    from_researcher_id: strawberry.Private[int]
    to_researcher_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Invitation) -> Self:
        return cls(
            id=strawberry.ID(to_global_id("Invitation", m.id)),
            status=m.status,
            message=m.message,
            created_at=m.created_at,
            responded_at=m.responded_at,
            from_researcher_id=m.from_researcher_id,
            to_researcher_id=m.to_researcher_id,
        )

    @strawberry.field(description="The inviting researcher's record.")
    async def sender(
        self, info: Info
    ) -> Annotated[Researcher, strawberry.lazy("service.researchers.types")]:
        return await _researcher(info, self.from_researcher_id)

    @strawberry.field(description="The invited researcher's record.")
    async def recipient(
        self, info: Info
    ) -> Annotated[Researcher, strawberry.lazy("service.researchers.types")]:
        return await _researcher(info, self.to_researcher_id)


async def _researcher(info: Info, researcher_id: int) -> Researcher:
    from service.researchers.types import Researcher

    model = await info.context.loaders.researcher_by_id.load(researcher_id)
    assert model is not None
    return Researcher.from_model(model)


async def received_invitations(
    info: Info, account_id: int, *, first: int | None, after: str | None
) -> Connection[Invitation]:
    """Invitations to the record ``account_id`` has verified, newest first (none without one)."""
    request = page_args(info, BY_NEWEST, first=first, after=after, last=None, before=None)
    claim = await info.context.loaders.active_claim_by_account.load(account_id)
    if claim is None or claim.status is not ClaimStatus.VERIFIED:
        return build_connection(Page(items=[], cursors=[]), Invitation.from_model, _zero)
    repository = InvitationRepository(info.context.session)
    page = await repository.received_page(claim.researcher_id, request)
    return build_connection(
        page, Invitation.from_model, lambda: repository.count_received(claim.researcher_id)
    )


async def _zero() -> int:
    return 0
