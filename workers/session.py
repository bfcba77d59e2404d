"""One database transaction per message, committed once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.derived_lock import share_derived_data


@contextlib.asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends and rolls back if it raises.
    It first takes the derived-data lock shared, so that it waits while a full recompute runs."""
    async with sessionmaker() as session, session.begin():
        await share_derived_data(session)
        yield session
