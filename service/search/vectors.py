"""The works' text vectors a bulk import left to be built (PostgreSQL, migration 0015).

A batch written with ``defer_work_vectors`` lists its new and retitled works in
``search_work_pending`` instead of computing their vectors: row by row, inside every batch,
the vectors and their GIN entries were about 40% of the import's work. ``index_pending_works``
builds them afterwards, in chunks of their own transactions, while the bulk derive runs on the
other core; the derive waits for it before it announces the import done. Every other writer
(the API, small imports, the workers) indexes its works in the statement that writes them.
SQLite keeps its FTS5 tables current by triggers and has nothing pending."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.db.repository import is_postgresql

CHUNK = 20_000
"""Works indexed a transaction."""

INDEX_PENDING = text(
    """
    WITH taken AS (
        DELETE FROM search_work_pending
        WHERE work_id IN (
            SELECT work_id FROM search_work_pending ORDER BY work_id LIMIT :chunk
            FOR UPDATE SKIP LOCKED
        )
        RETURNING work_id
    ), current_text AS (
        -- Locked, so that a writer indexing its own change of the same work (after this
        -- statement's snapshot) is read here, or waits and indexes after us.
        SELECT w.id, w.title, w.abstract FROM works w JOIN taken t ON t.work_id = w.id
        FOR SHARE OF w
    )
    INSERT INTO search_work_vectors (work_id, vector)
    SELECT id, search_work_vector(title, abstract) FROM current_text
    ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector
    """
)


async def defer_work_vectors(session: AsyncSession) -> None:
    """Works this transaction writes get their vectors from ``index_pending_works`` later."""
    if is_postgresql(session):
        await session.execute(text("SELECT set_config('bzpeer.search_deferred', 'on', true)"))


async def index_pending_chunk(session: AsyncSession, chunk: int = CHUNK) -> int:
    """Index up to ``chunk`` pending works (another process's chunk is skipped, not waited
    for); returns how many."""
    result = await session.execute(INDEX_PENDING, {"chunk": chunk})
    return int(getattr(result, "rowcount", 0) or 0)


async def index_pending_works(settings: Settings, chunk: int = CHUNK) -> int:
    """Every pending work's vector, a chunk a transaction; returns how many were built."""
    engine = create_engine(settings, maintenance=True)
    built = 0
    try:
        if engine.dialect.name != "postgresql":
            return 0
        sessions = create_sessionmaker(engine)
        while True:
            async with sessions() as session:
                count = await index_pending_chunk(session, chunk)
                await session.commit()
            built += count
            if count == 0:
                break
        if built:
            # The first searches after a bulk import would be planned for the table before it.
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE search_work_vectors"))
                await connection.commit()
        return built
    finally:
        await engine.dispose()
