"""The one way a command (``bzpeer ...``, a test's loader) opens the database: an engine of its
own, one session, one commit, and the engine disposed whatever happens."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db.derived_lock import hold_derived_data, release_derived_data
from service.db.engine import create_engine, create_sessionmaker
from service.db.session import begin_writing


@contextlib.asynccontextmanager
async def command_session(
    settings: Settings, *, writes: bool, maintenance: bool = False
) -> AsyncIterator[AsyncSession]:
    """A session for one command. With ``writes`` its transaction starts as a writer (on SQLite,
    ``BEGIN IMMEDIATE``: it waits for a running server's writers instead of failing with
    "database is locked" when it would upgrade a read) and commits when the block ends; a block
    that raises writes nothing. ``maintenance`` lifts the API's statement timeout."""
    engine = create_engine(settings, maintenance=maintenance)
    try:
        async with create_sessionmaker(engine)() as session:
            if writes:
                await begin_writing(session)
            yield session
            if writes:
                await session.commit()
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def derive_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """For commands that derive everything (``recompute --all``, ``demo load``): a writing
    session whose every statement reads one snapshot, taken while no event worker
    is writing derived data and kept until it commits (``service.db.derived_lock``). On SQLite
    the writer lock (``BEGIN IMMEDIATE``) gives both."""
    engine = create_engine(settings, maintenance=True)
    try:
        if engine.dialect.name != "postgresql":
            async with create_sessionmaker(engine)() as session:
                await begin_writing(session)
                yield session
                await session.commit()
            return
        async with engine.connect() as connection:
            await hold_derived_data(connection)
            try:
                await connection.execution_options(isolation_level="REPEATABLE READ")
                async with create_sessionmaker(engine)(bind=connection) as session:
                    yield session
                    await session.commit()
            finally:
                await connection.rollback()
                await connection.execution_options(isolation_level="READ COMMITTED")
                await release_derived_data(connection)
    finally:
        await engine.dispose()


def is_serialization_failure(error: BaseException) -> bool:
    """PostgreSQL refused a REPEATABLE READ transaction because a concurrent one changed what
    it read (SQLSTATE 40001); running it again sees the new state."""
    cause = getattr(error, "orig", None)
    return getattr(cause, "sqlstate", None) == "40001" or getattr(cause, "pgcode", None) == "40001"
