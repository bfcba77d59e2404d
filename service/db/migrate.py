"""Run Alembic from code: ``bzpeer migrate``, ``bzpeer serve`` and the tests all come here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def pending(database_url: str) -> bool:
    """Whether ``database_url`` is behind the newest migration (or not migrated at all)."""
    import asyncio

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from service.db.engine import async_database_url

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()

    async def current() -> str | None:
        engine = create_async_engine(async_database_url(database_url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(current()) != head


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate ``database_url`` to ``revision``. Runs its own event loop: call it from a thread
    or before one starts."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


SEARCH_OBJECT_PREFIXES = ("ix_search_", "search_", "trg_search_")
"""What migration 0014 and later search migrations create outside the models: FTS5 tables and
triggers, expression and operator-class indexes (``search_name`` is a model column)."""


def compared_with_models(
    _object: object, name: str | None, type_: str, _reflected: bool, _compare_to: object
) -> bool:
    """Alembic's ``include_object``: whether the schema comparison looks at this object. The
    search objects live only in the migrations (SQLAlchemy cannot declare them)."""
    if name is None:
        return True
    return not (name.startswith(SEARCH_OBJECT_PREFIXES) and name != "search_name")
