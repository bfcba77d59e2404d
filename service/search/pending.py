"""What a bulk import left for the search index to build (PostgreSQL): the works' text vectors
(migrations 0015 and 0017) and the researchers' name words (migration 0016).

A batch written with ``defer_search_indexing`` lists its new and retitled works (and those
whose topics it changed) in ``search_work_pending`` and its new researchers in
``search_researcher_pending`` instead of indexing them: row by row, inside every batch, the
vectors and their GIN entries were about 40% of the import's work, the name words 13% more.
``index_pending`` builds both afterwards, in chunks of their own transactions, while the bulk
derive runs on the other core; the derive waits for it before it announces the import done.
Every other writer (the API, small imports, the workers) indexes its rows in the statement
that writes them. SQLite keeps its FTS5 tables current by triggers and has nothing pending."""

from __future__ import annotations

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.db.repository import is_postgresql

CHUNK = 20_000
"""Works (or researchers) indexed a transaction."""

INDEX_PENDING_WORKS = text(
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
    ), written AS (
        INSERT INTO search_work_vectors (work_id, vector)
        SELECT c.id, search_work_vector(c.title, c.abstract, n.topics)
        FROM current_text c
        LEFT JOIN search_work_topic_names(ARRAY(SELECT work_id FROM taken)) n ON n.work_id = c.id
        ON CONFLICT (work_id) DO UPDATE SET vector = excluded.vector
    )
    SELECT count(*) FROM taken
    """
)
INDEX_PENDING_RESEARCHERS = text(
    """
    WITH taken AS (
        DELETE FROM search_researcher_pending
        WHERE researcher_id IN (
            SELECT researcher_id FROM search_researcher_pending ORDER BY researcher_id
            LIMIT :chunk FOR UPDATE SKIP LOCKED
        )
        RETURNING researcher_id
    ), current_names AS (
        -- Not locked (the bulk derive's transaction updates every researcher and waits for
        -- this one): a rename or merge deletes its researcher's pending row in its trigger,
        -- so it waits for this statement's transaction, then rewrites the words itself.
        SELECT r.id, r.search_name FROM researchers r JOIN taken t ON t.researcher_id = r.id
        WHERE r.merged_into_id IS NULL
    ), written AS (
        INSERT INTO search_researcher_words (word, tier, researcher_id)
        SELECT w.word, w.tier, c.id FROM current_names c, search_name_words(c.search_name) w
        ON CONFLICT DO NOTHING
    )
    SELECT count(*) FROM taken
    """
)
PENDING: tuple[tuple[TextClause, str], ...] = (
    (INDEX_PENDING_WORKS, "search_work_vectors"),
    (INDEX_PENDING_RESEARCHERS, "search_researcher_words"),
)
"""Each kind's indexing statement and the table it fills."""


async def defer_search_indexing(session: AsyncSession) -> None:
    """Works and researchers this transaction writes are indexed by ``index_pending`` later."""
    if is_postgresql(session):
        await session.execute(text("SELECT set_config('bzpeer.search_deferred', 'on', true)"))


async def index_pending_chunk(
    session: AsyncSession, chunk: int = CHUNK, statement: TextClause = INDEX_PENDING_WORKS
) -> int:
    """Index up to ``chunk`` pending rows of one kind (another process's chunk is skipped, not
    waited for); returns how many were taken."""
    return int((await session.execute(statement, {"chunk": chunk})).scalar_one())


async def index_pending(settings: Settings, chunk: int = CHUNK) -> int:
    """Every pending work's vector and researcher's words, a chunk a transaction; returns how
    many works and researchers were indexed."""
    engine = create_engine(settings, maintenance=True)
    built = 0
    try:
        if engine.dialect.name != "postgresql":
            return 0
        sessions = create_sessionmaker(engine)
        for statement, table in PENDING:
            written = 0
            while True:
                async with sessions() as session:
                    count = await index_pending_chunk(session, chunk, statement)
                    await session.commit()
                written += count
                if count == 0:
                    break
            if written:
                # The first searches after a bulk import would be planned for the table before.
                async with engine.connect() as connection:
                    await connection.execute(text(f"ANALYZE {table}"))
                    await connection.commit()
            built += written
        return built
    finally:
        await engine.dispose()
