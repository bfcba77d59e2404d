"""An import fills its tables from empty, so the lookup of a batch's keys (``openalex_id =
ANY($1)``) must be planned for each batch: PostgreSQL's generic plan, chosen for a prepared
statement from its sixth run and kept until the statistics change, was planned while the table
was nearly empty and stayed a scan comparing every row with every key (a one-process import
took four to five times as long). The import's sessions use ``BULK_LOAD_SETTINGS``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from sqlalchemy import text

from service.db.engine import BULK_LOAD_SETTINGS, create_engine, create_sessionmaker
from service.db.session import begin_writing
from service.imports.openalex.records import ResearcherRow
from service.imports.openalex.store import OpenAlexRepository
from tests.support import settings_for

BATCHES = 8
"""More than the five runs after which PostgreSQL weighs a generic plan."""

PLANS = """
SELECT COALESCE(SUM(generic_plans), 0), COALESCE(SUM(custom_plans), 0)
FROM pg_prepared_statements
WHERE statement LIKE '%researchers.openalex_id = ANY%'
    AND statement NOT LIKE '%pg_prepared_statements%'
"""


async def lookup_plans(url: str, server_settings: Mapping[str, str] | None) -> tuple[int, int]:
    """(generic, custom) plans of the authors' lookup over ``BATCHES`` batches of new authors,
    on one connection."""
    engine = create_engine(
        settings_for(url), maintenance=True, server_settings=server_settings, pool_size=1
    )
    try:
        async with create_sessionmaker(engine)() as session:
            await begin_writing(session)
            repository = OpenAlexRepository(session)
            for batch in range(BATCHES):
                keys = [f"A7{batch:02d}{n:04d}" for n in range(200)]
                ids = await repository.ensure_researchers(
                    {key: ResearcherRow(key, f"Author {key}") for key in keys}, []
                )
                assert sorted(ids) == keys
            generic, custom = (await session.execute(text(PLANS))).one()
            await session.commit()
            return int(generic), int(custom)
    finally:
        await engine.dispose()


def test_the_imports_lookups_are_planned_for_each_batch(postgresql_url: str) -> None:
    generic, custom = asyncio.run(lookup_plans(postgresql_url, BULK_LOAD_SETTINGS))
    # At least twice a batch: the stored authors, then the ids of those just inserted.
    assert generic == 0 and custom >= 2 * BATCHES


def test_without_them_postgresql_keeps_a_generic_plan(postgresql_url: str) -> None:
    # What the settings are for: on a table filling from empty, the default mode settles on
    # a generic plan after five runs.
    generic, _ = asyncio.run(lookup_plans(postgresql_url, None))
    assert generic > 0
