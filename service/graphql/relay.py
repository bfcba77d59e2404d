"""Relay plumbing: global ids, connection types built from keyset pages, argument validation."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry
from strawberry import relay

from service.db.paging import Ordering, Page, PageRequest, page_request
from service.errors import BadUserInput

if TYPE_CHECKING:
    from service.graphql.context import Info

NodeT = TypeVar("NodeT")
ModelT = TypeVar("ModelT")


def to_global_id(type_name: str, node_id: int) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def from_global_id(value: str, expected: str | Iterable[str]) -> tuple[str, int]:
    """Decode a global id into ``(type name, primary key)``; BAD_USER_INPUT when it is not a
    well-formed id of one of the ``expected`` types."""
    allowed = {expected} if isinstance(expected, str) else set(expected)
    try:
        type_name, _, raw_id = base64.b64decode(value, validate=True).decode().partition(":")
        node_id = int(raw_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput(f"Malformed id: {value!r}.", argument="id") from exc
    if type_name not in allowed or node_id <= 0:
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
    settings = info.context.settings
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
