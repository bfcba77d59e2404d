"""The subscriptions. Each gives the current value first, then one message per change, as the
process's ``LiveHub`` sees it."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from service.errors import NotFound
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.live.topics import Topic
from service.live.types import FollowerUpdate
from service.researchers.types import Researcher
from service.trust.types import Trust


async def _watched_researcher(info: Info, researcher_id: str) -> int:
    _, pk = from_global_id(researcher_id, "Researcher")
    if await info.context.loaders.researcher_by_id.load(pk) is None:
        raise NotFound(f"No researcher with id {researcher_id}.")
    await info.context.renew()  # no connection held while waiting for values
    return pk


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="The researcher's follower count now, then each time it changes."
    )
    async def follower_updates(
        self, info: Info, researcher_id: strawberry.ID
    ) -> AsyncGenerator[FollowerUpdate, None]:
        pk = await _watched_researcher(info, researcher_id)
        async with info.context.services.live.watch(Topic.FOLLOWERS, pk) as watcher:
            async for researcher in watcher.values():
                yield FollowerUpdate(
                    researcher=Researcher.from_model(researcher),
                    followers=researcher.followers_count,
                )

    @strawberry.subscription(
        description="The researcher's current trust snapshot now, then each new one."
    )
    async def trust_updates(
        self, info: Info, researcher_id: strawberry.ID
    ) -> AsyncGenerator[Trust, None]:
        pk = await _watched_researcher(info, researcher_id)
        async with info.context.services.live.watch(Topic.TRUST, pk) as watcher:
            async for snapshot in watcher.values():
                yield Trust.from_model(snapshot)
