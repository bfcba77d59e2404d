"""Real parts for tests: databases created by migrating (SQLite file or a fresh PostgreSQL
database), a real uvicorn serving the app, and a statement counter."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from service.config import Settings
from service.db.engine import create_engine
from service.db.migrate import upgrade
from service.db.session import writer_options
from service.db.unit_of_work import derive_session
from service.demo.loader import load_demo
from service.documents import document

T = TypeVar("T")

LOOPBACK_TLS = httpx.create_ssl_context()
"""The TLS context every test's HTTP client shares. Our servers speak plain HTTP on loopback,
but an httpx client made without a context loads the CA bundle again: 30-60 ms of CPU, more
than most of the suite's requests cost."""


def http_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client`` with the shared TLS context."""
    return httpx.Client(verify=LOOPBACK_TLS, **kwargs)


def http_get(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.get`` with the shared TLS context."""
    return httpx.get(url, verify=LOOPBACK_TLS, **kwargs)


def http_post(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.post`` with the shared TLS context."""
    return httpx.post(url, verify=LOOPBACK_TLS, **kwargs)


ADMIN_URL = os.environ.get(
    "BZPEER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
"""A PostgreSQL database (and a role allowed to create databases) the tests start from."""
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
"""Real records the tests read (see its README for where each file comes from)."""


async def _admin(statement: str) -> None:
    url = make_url(ADMIN_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _new_database(backend: str, directory: Path, template: str | None = None) -> str:
    if backend == "sqlite":
        path = directory / f"bzpeer-{uuid.uuid4().hex[:8]}.sqlite3"
        if template is not None:
            with (
                contextlib.closing(sqlite3.connect(str(make_url(template).database))) as source,
                contextlib.closing(sqlite3.connect(path)) as copy,
            ):
                source.backup(copy)
        return f"sqlite:///{path}"
    name = f"bzpeer_test_{uuid.uuid4().hex[:12]}"
    copied = "" if template is None else f' TEMPLATE "{make_url(template).database}"'
    asyncio.run(_admin(f'CREATE DATABASE "{name}"{copied}'))
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


_migrated: dict[str, str] = {}
"""Per backend, a database this test process migrated once: new ones are copies of it."""


def create_database(backend: str, directory: Path) -> str:
    """A new, migrated, empty database; returns its plain URL. The first of each backend in a
    test process is migrated (``upgrade``); later ones copy it (a second instead of a tenth)."""
    template = _migrated.get(backend)
    if template is None:
        template = _migrated[backend] = _new_database(backend, directory)
        upgrade(template)
        atexit.register(drop_database, template)
    return _new_database(backend, directory, template)


_prepared: dict[tuple[str, str], str] = {}
"""Per backend and name, a database this test process prepared once: copies are made of it."""


def create_prepared_database(
    backend: str, directory: Path, name: str, prepare: Callable[[str], object]
) -> str:
    """A new database equal to the one ``prepare`` makes of a migrated one. ``prepare`` runs
    once per test process and ``name``; later calls copy its result (a second instead of, for
    the KFUPM import, ten)."""
    template = _prepared.get((backend, name))
    if template is None:
        template = create_database(backend, directory)
        prepare(template)
        _prepared[backend, name] = template
        atexit.register(drop_database, template)
    return _new_database(backend, directory, template)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
    else:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))


def make_read_only(url: str) -> None:
    """New sessions of this PostgreSQL database start read-only: any write raises."""
    name = make_url(url).database
    asyncio.run(_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))


def environment(**extra: str) -> dict[str, str]:
    """This process's environment for a ``bzpeer`` child, without the settings of ours
    (``DATABASE_URL``, ``REDIS_URL``, ``BZPEER_*``), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("BZPEER_")
    }
    # As ``settings_for``: tests write with plain SQL too, which no change version follows.
    return env | {"BZPEER_RESPONSE_CACHE_ENTRIES": "0"} | extra


def writer_engine(settings: Settings) -> AsyncEngine:
    """An engine for a test that writes beside a running service: its transactions begin as
    writers (SQLite's ``BEGIN IMMEDIATE``), as the service's own writers do. On SQLite a deferred
    transaction whose first write reaches a table with full-text triggers fails at once
    ("database is locked") while another connection writes, instead of waiting its turn."""
    return create_engine(settings, maintenance=True, execution_options=writer_options("sqlite"))


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "log_level": "WARNING",
        # Servers of different tests may share the machine's Redis: keep their queues apart.
        "broker_namespace": f"bzpeer-test-{uuid.uuid4().hex[:12]}",
        # A test process starts hundreds of apps: frozen objects would never be collected.
        "freeze_startup_objects": False,
        # Tests write with plain SQL too, which no change version follows; the cache's own
        # tests turn it on (tests/graphql/test_response_cache.py).
        "response_cache_entries": 0,
        **overrides,
    }
    return Settings(database_url=url, **values)


def eventually(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """``check()``'s result once it stops raising AssertionError: derived numbers are written by
    the event workers after a mutation commits, within a second on an idle machine."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)


def load_demo_into(url: str) -> None:
    """The demo graph, loaded the way ``bzpeer demo load`` loads it."""

    async def run() -> None:
        settings = settings_for(url)
        async with derive_session(settings) as session:
            await load_demo(session, seed=settings.cluster_seed)

    asyncio.run(run())


def free_socket() -> socket.socket:
    """A loopback socket bound to a port the kernel picked (port 0), not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A loopback port held for a server another process (or library) binds by number.

    The port stays bound here, with SO_REUSEADDR and without listening, until the block ends:
    the kernel gives it to no other socket (port 0 never picks it, a plain bind is refused), while
    a server that binds with SO_REUSEADDR (uvicorn, asyncio, aiosmtpd) still can. Closing a probe
    socket and hoping the port stays free until the child binds it would race other tests."""
    with contextlib.closing(free_socket()) as sock:
        yield int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The app served by a real uvicorn on a loopback socket, in a background thread."""

    app: Starlette
    base_url: str

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.engine
        return engine

    def client(self, **kwargs: Any) -> httpx.Client:
        return http_client(base_url=self.base_url, timeout=30, **kwargs)

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        operation: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        with self.client() as client:
            response = client.post(
                "/graphql",
                json={"query": query, "variables": variables or {}, "operationName": operation},
                headers=headers,
                **kwargs,
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextlib.contextmanager
def serve(app: Starlette, sock: socket.socket | None = None) -> Iterator[LiveServer]:
    """Serve ``app`` on ``sock`` (a fresh loopback socket when none is given)."""
    sock = sock or free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start (its error is logged above)")
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.01)
        host, port = sock.getsockname()
        yield LiveServer(app=app, base_url=f"http://{host}:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        if thread.is_alive():  # open connections hold a graceful exit; end them
            server.force_exit = True
            thread.join(timeout=15)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("uvicorn did not stop within 30 s")


DRIVER_HOUSEKEEPING = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|;|WITH RECURSIVE typeinfo_tree"
    r"|SELECT\s+(current_setting|set_config)\('jit')",
    re.IGNORECASE,
)
"""What asyncpg logs besides the statements a plan sends: SQLAlchemy's transactions and pool
ping, and asyncpg's lookup of a type it meets for the first time on a connection (once per
connection, with JIT off around it). SQLAlchemy's statements run as prepared statements,
which asyncpg does not log."""


@contextlib.contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs: SQLAlchemy's, and on
    PostgreSQL those a compiled plan sends through the driver on a pooled connection."""
    statements: list[str] = []
    drivers: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def record_driver(query: Any) -> None:
        if not DRIVER_HOUSEKEEPING.match(query.query):
            statements.append(query.query)

    def watch(_dbapi_connection: Any, entry: Any, _proxy: Any) -> None:
        driver = entry.driver_connection
        if isinstance(driver, asyncpg.Connection) and driver not in drivers:
            driver.add_query_logger(record_driver)
            drivers.append(driver)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    event.listen(engine.sync_engine.pool, "checkout", watch)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        event.remove(engine.sync_engine.pool, "checkout", watch)
        for driver in drivers:
            driver.remove_query_logger(record_driver)


def stop_process(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout``; always reaped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def wait_until_serving(
    base_url: str, process: subprocess.Popen[str] | None = None, timeout: float = 30
) -> None:
    """Poll ``/healthz`` until the server at ``base_url`` answers; fail early if ``process``
    (the server) exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            http_get(f"{base_url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{base_url} did not answer within {timeout} s")


def contract(name: str) -> str:
    """One of the client documents the service ships (``service/documents``)."""
    return document(name)


def errors_of(body: dict[str, Any]) -> list[str]:
    """The ``extensions.code`` of every error in a GraphQL response."""
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
