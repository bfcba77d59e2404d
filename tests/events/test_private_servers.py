"""The private-server harness itself: servers come up, survive (or, for Redis, forget) a kill -9,
and leave nothing behind."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.events.private_servers import (
    PortTaken,
    PrivatePostgres,
    PrivateRedis,
    listens_on,
    private_postgres,
    private_redis,
    process_is_alive,
    unavailable,
)

__all__ = ["private_postgres", "private_redis"]  # fixtures, used by name below


def fresh_name() -> str:
    return f"harness_{uuid.uuid4().hex[:12]}"


async def write_row(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        async with connection.transaction():
            await connection.execute("INSERT INTO notes VALUES (1, 'committed before the crash')")
    finally:
        await connection.close()


async def read_rows(url: str) -> list[tuple[int, str]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT id, body FROM notes ORDER BY id")
    finally:
        await connection.close()
    return [(row["id"], row["body"]) for row in rows]


class TestPrivatePostgres:
    def test_a_committed_row_survives_kill_9(self, private_postgres: PrivatePostgres) -> None:
        url = private_postgres.create_database(fresh_name())
        assert url.startswith(f"postgresql://postgres@127.0.0.1:{private_postgres.port}/")
        asyncio.run(write_row(url))
        before = private_postgres._postmaster_pid()

        private_postgres.kill()
        assert not private_postgres.running
        with pytest.raises((OSError, asyncpg.PostgresError)):
            asyncio.run(read_rows(url))

        private_postgres.start()
        assert private_postgres._postmaster_pid() not in (None, before)
        assert asyncio.run(read_rows(url)) == [(1, "committed before the crash")]
        assert "database system was interrupted" in private_postgres.log.read_text()

    def test_restart_keeps_port_and_data(self, private_postgres: PrivatePostgres) -> None:
        name = fresh_name()
        private_postgres.create_database(name)
        port = private_postgres.port
        private_postgres.restart()
        assert private_postgres.port == port
        assert name in private_postgres.psql("SELECT datname FROM pg_database").split()

    def test_close_stops_the_server_and_removes_the_folder(self) -> None:
        server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="bzpeer-pg-")))
        server.start()
        pid = server._postmaster_pid()
        assert pid is not None
        server.close()
        server.close()
        assert not server.directory.exists()
        assert not process_is_alive(pid)


class TestPrivateRedis:
    def test_kill_and_restart_come_back_empty(self, private_redis: PrivateRedis) -> None:
        client = private_redis.client()
        try:
            client.set("greeting", "hello")
            assert client.get("greeting") == b"hello"
            port = private_redis.port

            private_redis.kill()
            assert not private_redis.running
            # Without retries: redis-py's default ones would spend ~3 s finding the server gone.
            with pytest.raises(redis.ConnectionError):
                redis.Redis.from_url(private_redis.url(), retry=Retry(NoBackoff(), 0)).ping()

            private_redis.restart()
            assert private_redis.port == port
            client.connection_pool.disconnect()
            assert client.ping()
            assert client.get("greeting") is None
        finally:
            client.close()

    def test_each_test_gets_an_empty_server(self, private_redis: PrivateRedis) -> None:
        client = redis.Redis.from_url(private_redis.url())
        try:
            assert client.dbsize() == 0
            client.set("greeting", "hello")  # the previous test's key is not seen here either
        finally:
            client.close()


def hold(port: int) -> socket.socket:
    """A listening socket of this process on ``port``: what another program taking it does."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


@pytest.fixture
def unstarted_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.close()


class TestPorts:
    def test_a_first_start_moves_off_a_taken_port(self, unstarted_redis: PrivateRedis) -> None:
        picked = unstarted_redis.port
        with hold(picked):
            unstarted_redis.start()
            assert unstarted_redis.port != picked
            assert unstarted_redis._process is not None
            assert listens_on(unstarted_redis._process.pid, unstarted_redis.port)
            assert not listens_on(unstarted_redis._process.pid, picked)

    def test_a_restart_on_a_taken_port_fails_loudly(self, unstarted_redis: PrivateRedis) -> None:
        unstarted_redis.start()
        unstarted_redis.kill()
        with hold(unstarted_redis.port), pytest.raises(PortTaken, match="cannot move"):
            unstarted_redis.start()  # a stranger answering on the port is not taken for ours
        assert not unstarted_redis.running
        unstarted_redis.start()  # once the port is free again, on the same port
        assert unstarted_redis.running


def test_a_missing_server_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no redis-server"):
        unavailable("no redis-server on PATH")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no redis-server.*must run, not skip"):
        unavailable("no redis-server on PATH")
