"""Base of every repository: a repository holds its session and owns all SQL of its domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import Base
from service.db.paging import statement

M = TypeVar("M", bound=Base)
T = TypeVar("T")


class RepositoryBase(Generic[M]):
    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    def base_select(self) -> Select[M]:
        """The statement every read of this model starts from (eager options go here)."""
        return select(self.model)

    async def get_by_id(self, id_: int) -> M | None:
        stmt = self.base_select().where(self.model.id == id_)
        return (await self.session.execute(stmt)).unique().scalar_one_or_none()

    async def list_by_ids(self, ids: Iterable[int]) -> Sequence[M]:
        id_list = list(set(ids))
        if not id_list:
            return []
        stmt = statement(
            (type(self), "by_ids"),
            lambda: self.base_select().where(self.model.id.in_(bindparam("ids", expanding=True))),
        )
        return (await self.session.execute(stmt, {"ids": id_list})).unique().scalars().all()

    async def count_grouped(self, column: Any, ids: Sequence[int]) -> dict[int, int]:
        """How many rows have each of ``ids`` in ``column`` (0 for none), in one statement."""
        stmt = select(column, func.count()).where(column.in_(ids)).group_by(column)
        counts: dict[int, int] = dict((await self.session.execute(stmt)).all())
        return {i: counts.get(i, 0) for i in ids}

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def member_of(column: Any, name: str, arrays: bool) -> ColumnElement[bool]:
    """``column`` is one of the ids bound as ``name``: ``= ANY(array)`` with ``arrays`` (one
    statement text for any number of ids, PostgreSQL), an expanding ``IN`` without."""
    if arrays:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(BigInteger)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def chunked(items: Iterable[T], size: int) -> Iterable[list[T]]:
    """Consecutive lists of at most ``size`` items (``IN`` lists stay within driver limits)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
