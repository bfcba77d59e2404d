"""Alembic environment: the same revisions run on PostgreSQL and SQLite (batch mode for SQLite's
limited ALTER TABLE). The URL comes from ``config.attributes`` or the service settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from service.config import get_settings
from service.db.engine import async_database_url
from service.db.migrate import compared_with_models
from service.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_with_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=compared_with_models,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    url = config.attributes.get("database_url") or get_settings().resolved_database_url
    engine = create_async_engine(async_database_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with_connection)
    finally:
        await engine.dispose()


def run_offline() -> None:
    url = config.attributes.get("database_url") or get_settings().resolved_database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    run_with_connection(connection)
else:
    asyncio.run(run_async())
