from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from service.accounts import models
from service.errors import Forbidden
from service.graphql.context import Info
from service.graphql.relay import Connection, build_connection, page_args, to_global_id

if TYPE_CHECKING:
    from service.invitations.types import Invitation
    from service.researchers.types import Researcher


@strawberry.type(name="Account", description="A person who signs in; only ever shown to itself.")
class Account:
    id: strawberry.ID
    email: str
    display_name: str
    email_confirmed: bool
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Account) -> Self:
        return cls(
            id=strawberry.ID(to_global_id("Account", m.id)),
            email=m.email,
            display_name=m.display_name,
            email_confirmed=m.email_confirmed,
            pk=m.id,
        )

    def _check_viewer(self, info: Info) -> None:
        viewer = info.context.viewer
        if viewer is None or viewer.id != self.pk:
            raise Forbidden("Only the account itself can see this.")

    @strawberry.field(description="The record this account claims (pending or verified).")
    async def claimed_researcher(
        self, info: Info
    ) -> Annotated[Researcher, strawberry.lazy("service.researchers.types")] | None:
        from service.researchers.types import Researcher

        self._check_viewer(info)
        claim = await info.context.loaders.active_claim_by_account.load(self.pk)
        if claim is None:
            return None
        model = await info.context.loaders.researcher_by_id.load(claim.researcher_id)
        return Researcher.from_model(model) if model else None

    @strawberry.field(description="Researchers this account follows, by name.")
    async def following(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Annotated[Researcher, strawberry.lazy("service.researchers.types")]]:
        from service.follows.repository import FollowRepository
        from service.researchers.repository import BY_NAME
        from service.researchers.types import Researcher

        self._check_viewer(info)
        request = page_args(info, BY_NAME, first=first, after=after, last=last, before=before)
        repository = FollowRepository(info.context.session)
        page = await repository.following_page(self.pk, request)
        return build_connection(
            page, Researcher.from_model, lambda: repository.count_following(self.pk)
        )

    @strawberry.field(description="Invitations to the record this account has verified.")
    async def invitations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Invitation, strawberry.lazy("service.invitations.types")]]:
        from service.invitations.types import received_invitations

        self._check_viewer(info)
        return await received_invitations(info, self.pk, first=first, after=after)
