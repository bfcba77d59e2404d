from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from service.db.engine import create_engine
from service.db.migrate import alembic_config, compared_with_models
from service.db.models import Base
from tests.support import settings_for


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_engine(settings_for(url))
        try:
            async with engine.connect() as connection:

                def compare(sync: Connection) -> list[object]:
                    context = MigrationContext.configure(
                        sync, opts={"compare_type": True, "include_object": compared_with_models}
                    )
                    return list(compare_metadata(context, Base.metadata))

                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(settings_for(url))
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


class TestMigrations:
    def test_models_and_migrations_agree(self, empty_url: str) -> None:
        assert _diff(empty_url) == []

    def test_every_model_table_is_created(self, empty_url: str) -> None:
        assert set(Base.metadata.tables) <= _tables(empty_url)

    def test_downgrade_to_base_and_back(self, empty_url: str) -> None:
        config = alembic_config(empty_url)
        command.downgrade(config, "base")
        assert _tables(empty_url) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert _diff(empty_url) == []
