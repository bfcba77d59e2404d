"""A session that the resolvers of one GraphQL operation can share.

graphql-core resolves sibling fields concurrently, and SQLAlchemy's ``AsyncSession`` refuses
concurrent use ("This session is provisioning a new connection; concurrent operations are not
permitted"). One connection runs one statement at a time anyway, so statements simply take
turns; DataLoaders keep their number fixed."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

SQLITE_BEGIN = "sqlite_begin"
"""Execution option naming SQLite's BEGIN mode: ``IMMEDIATE`` for transactions that will write,
so that they queue for the write lock (busy_timeout) instead of failing on upgrade when another
connection wrote since they read."""


def writer_options(dialect_name: str) -> dict[str, Any]:
    """Execution options of a session that will write (see ``SQLITE_BEGIN``)."""
    return {SQLITE_BEGIN: "IMMEDIATE"} if dialect_name == "sqlite" else {}


class SerialSession(AsyncSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:  # scalars() comes here too
        async with self._turn:
            return await super().execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().scalar(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().get(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await super().flush(*args, **kwargs)

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await super().refresh(*args, **kwargs)

    async def commit(self) -> None:
        async with self._turn:
            await super().commit()

    async def rollback(self) -> None:
        async with self._turn:
            await super().rollback()


async def begin_writing(session: AsyncSession) -> None:
    """Start ``session``'s transaction as a writer. On SQLite that means ending any read
    transaction it began (authentication reads first) and beginning IMMEDIATE: the workers write
    too, and a deferred transaction that read before another connection wrote cannot write."""
    options = writer_options(session.get_bind().dialect.name)
    if options:
        await session.commit()
        await session.connection(execution_options=options)
