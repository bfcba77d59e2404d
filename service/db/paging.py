"""Keyset pagination shared by every connection: page requests, opaque cursors, and the windowed
statement that pages many parents (all researchers on a page of works) in one round trip."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import QueryableAttribute, aliased

from service.errors import BadUserInput

T = TypeVar("T")
SortKey = tuple[Any, ...]
Column = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A validated ``first/after`` or ``last/before`` request. ``ordering`` names the sort so that a
    cursor from one connection is refused by another."""

    ordering: str
    size: int
    forward: bool = True
    after: SortKey | None = None
    before: SortKey | None = None


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    keys: list[SortKey] = field(default_factory=list)
    """The sort key of each item (a collaborator's edge weight is part of its key)."""
    has_next_page: bool = False
    has_previous_page: bool = False


@dataclass(frozen=True, slots=True)
class Ordering:
    """A keyset ordering: the sort columns (all in one direction) whose values form the cursor."""

    name: str
    columns: Sequence[Column]
    descending: bool = True
    cursor_types: tuple[type | tuple[type, ...], ...] = field(default=())
    """The JSON type of each cursor value, checked when a cursor comes back."""


def encode_cursor(ordering: str, key: SortKey) -> str:
    raw = orjson.dumps([ordering, *key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _int_bound(column: Column) -> int:
    """How far an integer key of ``column`` can go: 64 bits for BIGINT keys, else 32."""
    return 2**63 if isinstance(getattr(column, "type", None), BigInteger) else 2**31


def decode_cursor(ordering: Ordering, cursor: str, argument: str = "after") -> SortKey:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise BadUserInput("Invalid cursor.", argument=argument) from exc
    if (
        not isinstance(values, list)
        or len(values) != len(ordering.columns) + 1
        or values[0] != ordering.name
    ):
        raise BadUserInput("Invalid cursor: it belongs to another list.", argument=argument)
    key = tuple(values[1:])
    for value, expected, column in zip(key, ordering.cursor_types, ordering.columns, strict=False):
        # bool is an int in Python; a cursor never holds one.
        if isinstance(value, bool) or not isinstance(value, expected):
            raise BadUserInput("Invalid cursor.", argument=argument)
        # No more than the key column holds (PostgreSQL refuses the parameter otherwise).
        if isinstance(value, int) and not -_int_bound(column) <= value < _int_bound(column):
            raise BadUserInput("Invalid cursor.", argument=argument)
    return key


def page_request(
    ordering: Ordering,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    default_size: int,
    max_size: int,
) -> PageRequest:
    """Validate connection arguments into a ``PageRequest`` (BAD_USER_INPUT when they are off)."""
    if first is not None and last is not None:
        raise BadUserInput("Give either `first` or `last`, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise BadUserInput(f"`{name}` must not be negative.")
        if value is not None and value > max_size:
            raise BadUserInput(f"`{name}` must be at most {max_size}.", argument=name, max=max_size)
    forward = last is None
    size = (first if forward else last) or 0
    if first is None and last is None:
        size = default_size
    return PageRequest(
        ordering=ordering.name,
        size=size,
        forward=forward,
        after=decode_cursor(ordering, after, "after") if after else None,
        before=decode_cursor(ordering, before, "before") if before else None,
    )


PARENT_IDS: BindParameter[Any] = bindparam("parent_ids", expanding=True)
"""Where a per-parent statement takes its parent ids (see ``page_parameters``)."""

_statements: dict[Hashable, Any] = {}


def statement(key: Hashable, build: Callable[[], T]) -> T:
    """The statement built by ``build`` for ``key``, built once per process. Building a
    windowed keyset statement costs more CPU than running it; its values are bound instead."""
    found = _statements.get(key)
    if found is None:
        found = _statements[key] = build()
    return found


def page_shape(page: PageRequest) -> tuple[bool, bool, bool]:
    """What a page changes in a statement's text (its values are parameters)."""
    return (page.forward, page.after is not None, page.before is not None)


def page_parameters(page: PageRequest, parent_ids: Sequence[Any] = ()) -> dict[str, Any]:
    """The values of a statement built by ``paged`` or ``paged_per_parent`` for ``page``."""
    values: dict[str, Any] = {"_limit": page.size + 1, "parent_ids": list(parent_ids)}
    for prefix, key in (("_after", page.after), ("_before", page.before)):
        for i, value in enumerate(key or ()):
            values[f"{prefix}_{i}"] = value
    return values


def _keyset_filters(ordering: Ordering, page: PageRequest) -> list[ColumnElement[bool]]:
    key = tuple_(*ordering.columns)
    filters: list[ColumnElement[bool]] = []
    # "after" means further along the ordering; with a descending sort that is smaller.
    if page.after is not None:
        after = tuple_(*(bindparam(f"_after_{i}") for i in range(len(ordering.columns))))
        filters.append(key < after if ordering.descending else key > after)
    if page.before is not None:
        before = tuple_(*(bindparam(f"_before_{i}") for i in range(len(ordering.columns))))
        filters.append(key > before if ordering.descending else key < before)
    return filters


def _order_by(ordering: Ordering, page: PageRequest) -> list[ColumnElement[Any]]:
    descending = ordering.descending == page.forward
    return [c.desc() if descending else c.asc() for c in ordering.columns]


def paged(stmt: Select[Any], ordering: Ordering, page: PageRequest) -> Select[Any]:
    """One keyset page of a single list: rows of ``(entity, sort key columns...)``. Run it with
    ``page_parameters(page)``."""
    return (
        stmt.add_columns(*ordering.columns)
        .where(*_keyset_filters(ordering, page))
        .order_by(*_order_by(ordering, page))
        .limit(bindparam("_limit"))
    )


def paged_per_parent(
    stmt: Select[Any],
    entity: type[T],
    *,
    parent: Column,
    ordering: Ordering,
    page: PageRequest,
    options: Sequence[Any] = (),
) -> Select[Any]:
    """Wrap ``stmt`` (which selects ``entity`` for the parents in ``PARENT_IDS``) so that it
    returns at most ``page.size + 1`` rows per parent, in keyset order, as
    ``(entity, parent_id, sort key columns...)``. One statement, however many parents; run it
    with ``page_parameters(page, parent_ids)``."""
    row_number = func.row_number().over(partition_by=parent, order_by=_order_by(ordering, page))
    inner = (
        stmt.add_columns(
            parent.label("_parent_id"),
            *(c.label(f"_sk{i}") for i, c in enumerate(ordering.columns)),
            row_number.label("_rn"),
        )
        .where(*_keyset_filters(ordering, page))
        .subquery()
    )
    alias: Any = aliased(entity, inner)
    sort_cols = [inner.c[f"_sk{i}"] for i in range(len(ordering.columns))]
    return (
        select(alias, inner.c._parent_id, *sort_cols)
        .where(inner.c._rn <= bindparam("_limit"))
        .order_by(inner.c._parent_id, inner.c._rn)
        .options(*[o for make in options for o in _as_tuple(make(alias))])
    )


def _as_tuple(option: Any) -> tuple[Any, ...]:
    return option if isinstance(option, tuple) else (option,)


def group_pages(
    rows: Sequence[Any], parent_ids: Sequence[Any], page: PageRequest
) -> dict[Any, Page[Any]]:
    """Split the rows of ``paged_per_parent`` into one ``Page`` per parent."""
    grouped: dict[Any, list[tuple[Any, SortKey]]] = {pid: [] for pid in parent_ids}
    for row in rows:
        grouped.setdefault(row[1], []).append((row[0], tuple(row[2:])))
    return {pid: build_page(items, page) for pid, items in grouped.items()}


def build_page(items: list[tuple[Any, SortKey]], page: PageRequest) -> Page[Any]:
    """Turn up to ``size + 1`` keyset rows into a page; the extra row only says there is more."""
    has_more = len(items) > page.size
    items = items[: page.size]
    if not page.forward:
        items.reverse()
    return Page(
        items=[item for item, _ in items],
        cursors=[encode_cursor(page.ordering, key) for _, key in items],
        keys=[key for _, key in items],
        has_next_page=has_more if page.forward else page.before is not None,
        has_previous_page=has_more if not page.forward else page.after is not None,
    )
