"""Relay plumbing: global ids, connection types built from keyset pages, argument validation."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from service.db.paging import Ordering, Page, PageRequest, page_request
from service.errors import BadUserInput, NotFound

if TYPE_CHECKING:
    from service.config import Settings
    from service.graphql.context import Info

NodeT = TypeVar("NodeT")
ModelT = TypeVar("ModelT")


def to_global_id(type_name: str, node_id: int) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


MAX_ID = 2**63 - 1
"""The largest key a BIGINT column holds."""
MAX_ID_DIGITS = len(str(MAX_ID))


def from_global_id(value: str, expected: str | Iterable[str]) -> tuple[str, int]:
    """Decode a global id into ``(type name, primary key)``; BAD_USER_INPUT when it is not a
    well-formed id of one of the ``expected`` types."""
    allowed = {expected} if isinstance(expected, str) else set(expected)
    try:
        type_name, _, raw_id = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput(f"Malformed id: {value!r}.", argument="id") from exc
    # Only the form to_global_id writes: ASCII digits, no sign, space, underscore or other
    # script's digits (which int() accepts), and within the 64-bit keys the database holds.
    if (
        not (raw_id.isascii() and raw_id.isdigit())
        or raw_id[0] == "0"
        or len(raw_id) > MAX_ID_DIGITS
    ):
        raise BadUserInput(f"Malformed id: {value!r}.", argument="id")
    node_id = int(raw_id)
    if type_name not in allowed or not 0 < node_id <= MAX_ID:
        names = " or ".join(sorted(allowed))
        raise BadUserInput(f"Not a {names} id: {value!r}.", argument="id")
    return type_name, node_id


def page_args(
    info: Info,
    ordering: Ordering,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageRequest:
    return configured_page(
        info.context.settings, ordering, first=first, after=after, last=last, before=before
    )


def configured_page(
    settings: Settings,
    ordering: Ordering,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageRequest:
    """Connection arguments checked against the configured page sizes (a compiled plan has
    the settings, not a resolver's ``info``)."""
    return page_request(
        ordering,
        first=first,
        after=after,
        last=last,
        before=before,
        default_size=settings.default_page_size,
        max_size=settings.max_page_size,
    )


@strawberry.type(description="An edge in a connection.")
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list, with keyset cursors.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: relay.PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds.")
    async def total_count(self) -> int:
        return await self.count()


class LoadedNode(relay.Node):
    """A Node that loads by primary key through the per-request loader named ``loader_name``."""

    loader_name: ClassVar[str]

    @classmethod
    def from_model(cls, model: Any) -> Self:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        loader = getattr(info.context.loaders, cls.loader_name)
        found = await loader.load_many([int(i) for i in node_ids])
        return [cls.from_model(m) if m is not None else None for m in found]


LoadedNodeT = TypeVar("LoadedNodeT", bound=LoadedNode)


async def node_by_id(info: Info, node_type: type[LoadedNodeT], value: str) -> LoadedNodeT:
    """The node of ``node_type`` with global id ``value``: BAD_USER_INPUT when the id is not
    one of that type, NOT_FOUND when nothing has it."""
    _, pk = from_global_id(value, node_type.__name__)
    (node,) = await node_type.resolve_nodes(info=info, node_ids=[str(pk)])
    if node is None:
        raise NotFound(f"No {node_type.__name__} with id {value}.")
    return node  # type: ignore[no-any-return]


async def paged_connection(
    info: Info,
    ordering: Ordering,
    *,
    loader: DataLoader[tuple[int, PageRequest], Page[ModelT]],
    parent_id: int,
    convert: Callable[[ModelT], NodeT],
    count: Callable[[], Awaitable[int]],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[NodeT]:
    """A connection of ``parent_id``'s children, paged through a batched page loader."""
    request = page_args(info, ordering, first=first, after=after, last=last, before=before)
    return build_connection(await loader.load((parent_id, request)), convert, count)


def page_info(page: Page[Any]) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


def build_connection(
    page: Page[ModelT],
    convert: Callable[[ModelT], NodeT],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    edges = [
        Edge(cursor=cursor, node=convert(item))
        for item, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(edges=edges, page_info=page_info(page), count=count)
