from __future__ import annotations

import strawberry

from service.errors import BadUserInput, NotFound
from service.graph.neighbourhood import HUBS
from service.graph.service import graph_slices
from service.graph.slice import NodeKind
from service.graph.types import LOADERS, GraphSliceType
from service.graphql.context import Info
from service.graphql.relay import from_global_id


@strawberry.type
class GraphQuery:
    @strawberry.field(
        description="The researcher (or work, topic, institution) in context: nodes within "
        "`depth` hops of `center` (1 to 3) and the typed edges among them, the most relevant "
        "`limit` (1 to 200) kept."
    )
    async def graph_slice(
        self, info: Info, center: strawberry.ID, depth: int | None = 2, limit: int | None = 50
    ) -> GraphSliceType:
        settings = info.context.settings
        depth = 2 if depth is None else depth
        limit = 50 if limit is None else limit
        if not 1 <= depth <= settings.graph_slice_max_depth:
            raise BadUserInput(
                f"depth must be 1 to {settings.graph_slice_max_depth}.", argument="depth"
            )
        if not 1 <= limit <= settings.graph_slice_max_limit:
            raise BadUserInput(
                f"limit must be 1 to {settings.graph_slice_max_limit}.", argument="limit"
            )
        type_name, pk = from_global_id(center, [kind.value for kind in NodeKind])
        kind = NodeKind(type_name)
        loader_name, _ = LOADERS[kind]
        if await getattr(info.context.loaders, loader_name).load(pk) is None:
            raise NotFound(f"No {type_name} with id {center}.")
        found = await graph_slices.graph_slice(
            info.context.session,
            (kind, pk),
            depth=depth,
            limit=limit,
            fanout=settings.graph_slice_fanout,
        )
        # A cached slice goes stale with any node it reached; around a topic or an institution
        # it read their members, whose changes name only the researchers.
        info.context.cache_tags.update(f"{k.value}:{node_id}" for k, node_id in found.read)
        info.context.cacheable = info.context.cacheable and kind not in HUBS
        return GraphSliceType.from_slice(found)
