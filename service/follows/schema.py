from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from service.follows.service import follows
from service.graphql.context import Info
from service.researchers.lookup import researcher_after_change, researcher_for_change

if TYPE_CHECKING:
    from service.researchers.types import Researcher


@strawberry.input
class FollowInput:
    researcher_id: strawberry.ID


@strawberry.type
class FollowPayload:
    researcher: Annotated[Researcher, strawberry.lazy("service.researchers.types")]


@strawberry.type
class FollowMutation:
    @strawberry.mutation(description="Follow a researcher; following twice is one follow.")
    async def follow(self, info: Info, input: FollowInput) -> FollowPayload:
        return await _change(info, input, follow=True)

    @strawberry.mutation(description="Stop following a researcher; a no-op when not following.")
    async def unfollow(self, info: Info, input: FollowInput) -> FollowPayload:
        return await _change(info, input, follow=False)


async def _change(info: Info, input: FollowInput, *, follow: bool) -> FollowPayload:
    from service.researchers.types import Researcher

    context = info.context
    account = context.require_viewer()
    await context.services.rate_limiter.hit(
        context.settings.rate_limit_follows_per_account, "follows", str(account.id)
    )
    researcher = await researcher_for_change(info, input.researcher_id)
    if follow:
        await follows.follow(context.session, account, researcher)
    else:
        await follows.unfollow(context.session, account, researcher)
    context.loaders.clear_viewer_state()
    fresh = await researcher_after_change(info, researcher.id)
    return FollowPayload(researcher=Researcher.from_model(fresh))
