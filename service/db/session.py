"""A session that the resolvers of one GraphQL operation can share.

graphql-core resolves sibling fields concurrently, and SQLAlchemy's ``AsyncSession`` refuses
concurrent use ("This session is provisioning a new connection; concurrent operations are not
permitted"). One connection runs one statement at a time anyway, so statements simply take
turns; DataLoaders keep their number fixed.

When a field's error nulls the whole answer, graphql-core cancels the sibling resolvers still
running. A statement cancelled inside the driver leaves the connection unusable, and the
request then failed (HTTP 500) closing it. So each statement runs to its end in a task of its
own, shielded from the caller's cancellation, and closing the session waits for them.

Closing is shielded the same way: a subscription's task is cancelled when its client goes away,
often while it gives its connection back, and a close cut short there made the pool log an
error and throw the connection away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

SQLITE_BEGIN = "sqlite_begin"
"""Execution option naming SQLite's BEGIN mode: ``IMMEDIATE`` for transactions that will write,
so that they queue for the write lock (busy_timeout) instead of failing on upgrade when another
connection wrote since they read. A first write to a table with full-text triggers (migration
0014) is such an upgrade: FTS5 reads its own tables before the write lock is taken."""


def writer_options(dialect_name: str) -> dict[str, Any]:
    """Execution options of a session that will write (see ``SQLITE_BEGIN``)."""
    return {SQLITE_BEGIN: "IMMEDIATE"} if dialect_name == "sqlite" else {}


T = TypeVar("T")


class SerialSession(AsyncSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = asyncio.Lock()
        self._running: set[asyncio.Future[Any]] = set()

    async def _in_turn(self, call: Callable[[], Awaitable[T]]) -> T:
        async def take_turn() -> T:
            async with self._turn:
                return await call()

        task = asyncio.ensure_future(take_turn())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for the statements under way, whoever stopped waiting for them."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:  # scalars() comes here too
        return await self._in_turn(lambda: AsyncSession.execute(self, *args, **kwargs))

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self._in_turn(lambda: AsyncSession.scalar(self, *args, **kwargs))

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._in_turn(lambda: AsyncSession.get(self, *args, **kwargs))

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        await self._in_turn(lambda: AsyncSession.flush(self, *args, **kwargs))

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        await self._in_turn(lambda: AsyncSession.refresh(self, *args, **kwargs))

    async def commit(self) -> None:
        await self._in_turn(lambda: AsyncSession.commit(self))

    async def rollback(self) -> None:
        await self.settle()
        await self._in_turn(lambda: AsyncSession.rollback(self))

    async def close(self) -> None:
        task = asyncio.ensure_future(self._settle_and_close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)
        await asyncio.shield(task)

    async def _settle_and_close(self) -> None:
        await self.settle()
        await super().close()


_closing: set[asyncio.Future[None]] = set()
"""Closes under way whose callers were cancelled: referenced until done."""


async def begin_writing(session: AsyncSession) -> None:
    """Start ``session``'s transaction as a writer. On SQLite that means ending any read
    transaction it began (authentication reads first) and beginning IMMEDIATE: the workers write
    too, and a deferred transaction that read before another connection wrote cannot write."""
    options = writer_options(session.get_bind().dialect.name)
    if options:
        await session.commit()
        await session.connection(execution_options=options)
