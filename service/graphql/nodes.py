"""``node(id)`` and ``nodes(ids)``: any entity by its global id."""

from __future__ import annotations

import inspect

import strawberry
from strawberry import relay

from service.errors import BadUserInput
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.institutions.types import Institution
from service.researchers.types import Researcher
from service.topics.types import Topic
from service.works.types import Venue, Work

NODE_TYPES: dict[str, type[relay.Node]] = {
    t.__name__: t for t in (Researcher, Work, Topic, Institution, Venue)
}
MAX_NODES = 100


async def _resolve(info: Info, ids: list[str]) -> list[relay.Node | None]:
    decoded = [from_global_id(i, NODE_TYPES) for i in ids]
    by_type: dict[str, list[int]] = {}
    for type_name, pk in decoded:
        by_type.setdefault(type_name, []).append(pk)
    found: dict[tuple[str, int], relay.Node | None] = {}
    for type_name, pks in by_type.items():
        resolved = NODE_TYPES[type_name].resolve_nodes(
            info=info, node_ids=[str(pk) for pk in pks], required=False
        )
        nodes = await resolved if inspect.isawaitable(resolved) else resolved
        found.update({(type_name, pk): node for pk, node in zip(pks, nodes, strict=True)})
    return [found[key] for key in decoded]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any entity by its global id; null when it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return (await _resolve(info, [id]))[0]

    @strawberry.field(description="Entities by global id, in order; null where one does not exist.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"At most {MAX_NODES} ids.", argument="ids")
        return await _resolve(info, list(ids))
