"""Who may write derived data while a full recompute runs (PostgreSQL; SQLite has one writer).

Event workers and the relay hold the lock shared, each transaction from its first statement; a
full recompute (``bzpeer recompute --all``) holds it exclusively for the whole of its
transaction. So the recompute's one snapshot starts after every worker transaction in flight has
ended, and no worker applies an event until it commits: the events it marks processed are exactly
those its reads include, and none is counted twice."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

DERIVED_DATA_LOCK = 0x62_7A_64_64  # "bzdd"
"""PostgreSQL advisory lock key."""


async def share_derived_data(session: AsyncSession) -> None:
    """Taken first in every worker transaction; waits while a full recompute runs."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": DERIVED_DATA_LOCK}
        )


async def hold_derived_data(connection: AsyncConnection) -> None:
    """Take the lock exclusively for ``connection``'s session (until ``release_derived_data``
    or the connection closes), outside any transaction, so that a REPEATABLE READ transaction
    begun afterwards takes its snapshot once the workers in flight are done."""
    await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": DERIVED_DATA_LOCK})
    await connection.commit()


async def release_derived_data(connection: AsyncConnection) -> None:
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": DERIVED_DATA_LOCK})
    await connection.commit()
