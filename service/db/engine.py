"""Engines and session factories for PostgreSQL (asyncpg) and the embedded SQLite file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_

import service.db.models  # noqa: F401  (every mapper configured before the first session)
from service.config import Settings
from service.db.session import SQLITE_BEGIN, SerialSession
from service.search import sqlite_functions
from service.search.dialects import POSTGRES_SETTINGS

BULK_LOAD_SETTINGS = {"plan_cache_mode": "force_custom_plan"}
"""For sessions that fill tables from empty (imports): a prepared statement's generic plan,
chosen on its sixth run, is kept until the table's statistics change. Planned while the table
was nearly empty, the lookup of a batch's keys (``openalex_id = ANY($1)``) stayed a sequential
scan that compared every row with every key, 1 s a batch at 26k researchers, four fifths of a
one-process import's time. A plan for each run's own keys costs about half a millisecond."""

API_SETTINGS = {"max_parallel_workers_per_gather": "0"}
"""Requests' statements run alone: starting parallel workers costs a statement 5-9 ms (a
search box's works, estimated at 10,000 rows and found empty, took 0.4 ms without them), and
on a server answering many requests at once the other cores are busy anyway. Maintenance
(imports, full recomputes) keeps PostgreSQL's default."""


def async_database_url(url: str) -> URL:
    """Map the plain URL every tool writes (``postgresql://u@h/db``, ``sqlite:///f``) to the
    async driver the service uses. A URL that already names a driver is kept as it is."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        query = dict(parsed.query)
        # libpq's sslmode is not an asyncpg argument; asyncpg spells it ssl.
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        return parsed.set(drivername="postgresql+asyncpg", query=query)
    if parsed.drivername == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def create_engine(
    settings: Settings,
    *,
    url: str | None = None,
    maintenance: bool = False,
    server_settings: Mapping[str, str] | None = None,
    **overrides: Any,
) -> AsyncEngine:
    """The service's engine. ``maintenance`` (loading data, full recomputes) lifts the API's
    statement timeout, which exists to protect request latency. ``server_settings``: more
    PostgreSQL settings for its sessions (``BULK_LOAD_SETTINGS``)."""
    db_url = async_database_url(url or settings.resolved_database_url)
    kwargs: dict[str, Any] = {}
    if db_url.get_backend_name() == "sqlite":
        if db_url.database and db_url.database != ":memory:":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        kwargs["poolclass"] = NullPool
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = settings.db_pool_size
        kwargs["max_overflow"] = settings.db_max_overflow
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {
            "server_settings": {
                "statement_timeout": "0" if maintenance else str(settings.db_statement_timeout_ms),
                "application_name": "bzpeer",
                # Prepared statements get generic plans whose cost estimates can cross
                # jit_above_cost; JIT then compiles millisecond lookups on every execution.
                "jit": "off",
                **({} if maintenance else API_SETTINGS),
                **POSTGRES_SETTINGS,
                **(server_settings or {}),
            },
            "timeout": 10,
        }
    kwargs.update(overrides)
    engine = create_async_engine(db_url, **kwargs)
    if engine.dialect.driver == "asyncpg":
        engine.dialect.do_ping = _ping_in_one_round_trip  # type: ignore[method-assign]
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _ping_in_one_round_trip(dbapi_connection: Any) -> bool:
    """The pool's check of a connection before lending it: ``;``, once. SQLAlchemy's asyncpg
    ping wraps it in a transaction it rolls back (for PgBouncer's transaction mode, which our
    prepared statements rule out anyway): three round trips on every checkout, about a third of
    the CPU of a planned profile page."""
    try:
        await_(dbapi_connection._connection.fetchrow(";"))
    except Exception as error:
        dbapi_connection._handle_exception(error)  # raised as the DBAPI error the pool expects
    return True


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling does not BEGIN before a SAVEPOINT, so a
    # released savepoint would commit on its own. Turn it off and BEGIN ourselves (on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    sqlite_functions.register(dbapi_connection)


def _sqlite_on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "")
    connection.exec_driver_sql(f"BEGIN {mode}".rstrip())


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=SerialSession, expire_on_commit=False, autoflush=False)
