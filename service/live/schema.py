"""The subscriptions. Each gives the current value first, then one message per change, as the
process's ``LiveHub`` sees it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import strawberry

from service.errors import NotFound
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.live.topics import Topic
from service.live.types import FollowerUpdate
from service.researchers.types import Researcher
from service.trust.types import Trust


async def _values(info: Info, topic: Topic, researcher_id: str) -> AsyncGenerator[Any, None]:
    """The researcher's current value of ``topic``, then each new one. Callers close it
    (``aclosing``) so that the watch ends when the subscription does, not when collected."""
    _, pk = from_global_id(researcher_id, "Researcher")
    if await info.context.loaders.researcher_by_id.load(pk) is None:
        raise NotFound(f"No researcher with id {researcher_id}.")
    await info.context.renew()  # no connection held while waiting for values
    async with info.context.services.live.watch(topic, pk) as watcher:
        async for value in watcher.values():
            yield value


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="The researcher's follower count now, then each time it changes."
    )
    async def follower_updates(
        self, info: Info, researcher_id: strawberry.ID
    ) -> AsyncGenerator[FollowerUpdate, None]:
        async with aclosing(_values(info, Topic.FOLLOWERS, researcher_id)) as researchers:
            async for researcher in researchers:
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
        async with aclosing(_values(info, Topic.TRUST, researcher_id)) as snapshots:
            async for snapshot in snapshots:
                yield Trust.from_model(snapshot)
