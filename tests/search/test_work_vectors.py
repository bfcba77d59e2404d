"""The works' text vectors on PostgreSQL (migration 0015): a bulk import leaves them to its
derive, which builds them beside the recompute before it announces the import; every other
writer indexes its works in the statement that writes them; a work retitled while its pending
vector is being built ends with the vector of its new title."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from service.db.engine import create_engine, create_sessionmaker
from service.imports.openalex.importer import derive_if_pending, import_files
from service.imports.openalex.inputs import discover
from service.search.pending import index_pending
from tests.imports.support import MEMBER_FILE, Collected, execute, fetch, read_jsonl
from tests.support import settings_for

MEMBER_WORKS = 14
STALE_VECTORS = (
    "SELECT COUNT(*) FROM works w LEFT JOIN search_work_vectors v ON v.work_id = w.id "
    "LEFT JOIN search_work_topic_names(ARRAY(SELECT id FROM works)) t ON t.work_id = w.id "
    "WHERE v.vector IS DISTINCT FROM search_work_vector(w.title, w.abstract, t.topics)"
)
"""Works without the vector of their current title and abstract."""
RETITLE = "UPDATE works SET title = 'Quokka burrows' WHERE id = (SELECT min(id) FROM works)"
COUNTS = (
    "SELECT (SELECT COUNT(*) FROM search_work_pending), (SELECT COUNT(*) FROM search_work_vectors)"
)


def import_without_derive(url: str, path: Path, *, bulk_threshold: int) -> None:
    """One process's import of ``path``, as ``bzpeer import`` runs it before its derive."""
    files = discover([path]).files
    asyncio.run(import_files(settings_for(url), files, Collected(), bulk_threshold=bulk_threshold))


def test_a_bulk_import_leaves_its_vectors_to_its_derive(
    postgresql_url: str, tmp_path: Path
) -> None:
    import_without_derive(postgresql_url, MEMBER_FILE, bulk_threshold=0)
    assert fetch(postgresql_url, COUNTS) == [(MEMBER_WORKS, 0)]

    assert asyncio.run(derive_if_pending(settings_for(postgresql_url)))
    assert fetch(postgresql_url, COUNTS) == [(0, MEMBER_WORKS)]
    assert fetch(postgresql_url, STALE_VECTORS) == [(0,)]
    # The import is announced once its works can be found.
    assert fetch(postgresql_url, "SELECT event_type FROM outbox_events") == [("imports.completed",)]

    # A newer record with a new title, imported in bulk: pending again; until the derive the
    # work is still found by its old vector, then by the new one only.
    records = read_jsonl(MEMBER_FILE)
    records[0] |= {"title": "Quokka burrows under stress", "updated_date": "2099-01-01T00:00:00"}
    changed = tmp_path / "changed-works.jsonl"
    changed.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    import_without_derive(postgresql_url, changed, bulk_threshold=0)
    assert fetch(postgresql_url, COUNTS) == [(1, MEMBER_WORKS)]
    assert found(postgresql_url, "quokka") == 0
    assert asyncio.run(derive_if_pending(settings_for(postgresql_url)))
    assert fetch(postgresql_url, COUNTS) == [(0, MEMBER_WORKS)]
    assert fetch(postgresql_url, STALE_VECTORS) == [(0,)]
    assert found(postgresql_url, "quokka") == 1


def test_other_writers_index_their_works_at_once(postgresql_url: str) -> None:
    import_without_derive(postgresql_url, MEMBER_FILE, bulk_threshold=10_000)
    assert fetch(postgresql_url, COUNTS) == [(0, MEMBER_WORKS)]
    assert fetch(postgresql_url, STALE_VECTORS) == [(0,)]
    execute(postgresql_url, RETITLE)
    assert found(postgresql_url, "quokka") == 1
    # A change that leaves the text alone writes no vector.
    execute(postgresql_url, "UPDATE works SET cited_by_count = cited_by_count + 1")
    assert fetch(postgresql_url, COUNTS) == [(0, MEMBER_WORKS)]
    assert fetch(postgresql_url, STALE_VECTORS) == [(0,)]


def test_a_work_retitled_while_its_vector_is_built_keeps_the_new_one(postgresql_url: str) -> None:
    import_without_derive(postgresql_url, MEMBER_FILE, bulk_threshold=0)
    assert fetch(postgresql_url, COUNTS) == [(MEMBER_WORKS, 0)]
    ((researchers,),) = fetch(postgresql_url, "SELECT count(*) FROM search_researcher_pending")
    asyncio.run(retitle_during_indexing(postgresql_url, MEMBER_WORKS + researchers))
    assert fetch(postgresql_url, COUNTS) == [(0, MEMBER_WORKS)]
    assert fetch(postgresql_url, STALE_VECTORS) == [(0,)]
    assert found(postgresql_url, "quokka") == 1


async def retitle_during_indexing(url: str, pending: int) -> None:
    """An API writer retitles a pending work and commits only once the indexer is waiting for
    it: the indexer must build the new title's vector, not overwrite the writer's with the
    title its snapshot saw (and index the ``pending`` works and researchers)."""
    settings = settings_for(url)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as writer:
            await writer.execute(text(RETITLE))
            pid = await writer.scalar(text("SELECT pg_backend_pid()"))
            indexing = asyncio.ensure_future(index_pending(settings))
            await wait_until_blocked_by(engine, pid)
            await writer.commit()
        assert await indexing == pending
    finally:
        await engine.dispose()


async def wait_until_blocked_by(engine: Any, pid: int) -> None:
    statement = text(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
    )
    async with asyncio.timeout(30):
        while True:
            async with engine.connect() as connection:
                if await connection.scalar(statement, {"pid": pid}):
                    return
            await asyncio.sleep(0.02)


def found(url: str, words: str) -> int:
    """Works whose vector matches ``words``."""
    ((count,),) = fetch(
        url,
        "SELECT COUNT(*) FROM search_work_vectors "
        "WHERE vector @@ plainto_tsquery('bzpeer_english', :words)",
        words=words,
    )
    return int(count)
