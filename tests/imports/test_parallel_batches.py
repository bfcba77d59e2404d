"""Batches of parallel imports (``--jobs N``, Dramatiq jobs) storing the same new authors at
once, as partitions sharing a pool of prolific authors do: each batch inserts them in key order,
so the two wait for each other in one order and PostgreSQL aborts neither as a deadlock (it did
when each inserted them in the order its records named them)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from service.db.engine import create_engine, create_sessionmaker
from service.db.session import begin_writing
from service.imports.openalex.records import ResearcherRow
from service.imports.openalex.store import OpenAlexRepository
from tests.imports.support import fetch
from tests.support import settings_for

AUTHORS = 2_000
ROUNDS = 5


def test_two_batches_naming_the_same_new_authors_in_opposite_orders(postgresql_url: str) -> None:
    stored = asyncio.run(race(postgresql_url))
    ((count,),) = fetch(postgresql_url, "SELECT COUNT(*) FROM researchers")
    assert count == AUTHORS * ROUNDS == len(stored)


async def race(url: str) -> dict[str, int]:
    engine = create_engine(settings_for(url))
    sessionmaker = create_sessionmaker(engine)

    async def batch(rows: Mapping[str, ResearcherRow]) -> dict[str, int]:
        async with sessionmaker() as session:
            await begin_writing(session)
            ids = await OpenAlexRepository(session).ensure_researchers(rows, [])
            await session.commit()
            return ids

    stored: dict[str, int] = {}
    try:
        for round_ in range(ROUNDS):
            keys = [f"A9{round_:02d}{n:06d}" for n in range(AUTHORS)]
            named = {key: ResearcherRow(key, f"Author {key}") for key in keys}
            backwards = {key: named[key] for key in reversed(keys)}
            first, second = await asyncio.gather(batch(named), batch(backwards))
            # Both batches answer every author with the one row stored for it.
            assert first == second
            assert sorted(first) == keys
            stored |= first
    finally:
        await engine.dispose()
    return stored
