"""The production shape for tests across processes: two ``bzpeer serve --api-only``
processes, ``bzpeer relay`` and ``bzpeer worker`` on the machine's PostgreSQL and a Redis of the
test's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.events.deployment import Deployment
from tests.events.private_servers import PrivateRedis
from tests.support import create_database, drop_database


class MachinePostgres:
    """Databases on the machine's PostgreSQL (these tests do not restart it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.urls: list[str] = []

    def create_database(self, name: str) -> str:
        url = create_database("postgresql", self.directory)
        self.urls.append(url)
        return url

    def drop_databases(self) -> None:
        for url in self.urls:
            drop_database(url)


@contextlib.contextmanager
def two_apis(workdir: Path, **env: str) -> Iterator[tuple[Deployment[MachinePostgres], str, str]]:
    """The deployment and the URLs of its API processes ``api`` and ``api-b``; ``env``: their
    settings. Each step's undo is registered as soon as the step is taken: whatever raises
    halfway (or the tests), everything started so far is stopped, in reverse order."""
    with contextlib.ExitStack() as undo:
        redis = PrivateRedis(workdir / "redis")
        undo.callback(redis.close)
        redis.start()
        postgres = MachinePostgres(workdir)
        undo.callback(postgres.drop_databases)
        deployment = Deployment(postgres, redis, workdir, **env)
        undo.callback(deployment.close)
        a = deployment.start_api("api")
        b = deployment.start_api("api-b")
        deployment.start_relay()
        deployment.start_worker()
        yield deployment, a, b
