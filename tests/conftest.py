from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from tests.support import (
    LiveServer,
    create_database,
    drop_database,
    load_demo_into,
    make_read_only,
    serve,
    settings_for,
)

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("databases")


@pytest.fixture(scope="session")
def demo_url(backend: str, database_dir: Path) -> Iterator[str]:
    """A database of each backend, migrated, with the demo graph loaded through the real path.
    Shared by read-only tests; tests that write (follow, sign up, claim...) make their own with
    ``fresh_demo_url``. On PostgreSQL it is made read-only, so that a test writing here fails at
    once instead of leaving what later tests would depend on."""
    url = create_database(backend, database_dir)
    load_demo_into(url)
    if backend == "postgresql":
        make_read_only(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def demo_server(demo_url: str) -> Iterator[LiveServer]:
    """The API over the shared demo database. No workers: nothing here writes."""
    with serve(create_app(settings_for(demo_url, in_process_workers=False))) as server:
        yield server


@pytest.fixture
def fresh_demo_url(backend: str, database_dir: Path) -> Iterator[str]:
    """A demo database of the test's own, for tests that write (follow, add works...)."""
    url = create_database(backend, database_dir)
    load_demo_into(url)
    yield url
    drop_database(url)


@pytest.fixture
def empty_url(backend: str, database_dir: Path) -> Iterator[str]:
    url = create_database(backend, database_dir)
    yield url
    drop_database(url)


@pytest.fixture
def postgresql_url(database_dir: Path) -> Iterator[str]:
    """An empty migrated PostgreSQL database of the test's own, for what only PostgreSQL does
    (parallel writers, its triggers)."""
    url = create_database("postgresql", database_dir)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def seed_id(demo_server: LiveServer) -> str:
    body = demo_server.graphql('{ researchers(search: "Kaiyue Lu") { edges { node { id } } } }')
    edges = body["data"]["researchers"]["edges"]
    assert len(edges) == 1
    return str(edges[0]["node"]["id"])


def _reports() -> list[str]:
    from tests.events.test_faults import REPORTS as FAULTS
    from tests.live.test_across_processes import REPORTS as LIVE

    return FAULTS + LIVE


WORKER_REPORTS: list[str] = []
"""What the test processes of ``pytest -n`` measured (they run the tests; this one reports)."""


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)  # set in a pytest-xdist worker
    if output is not None:
        output["reports"] = _reports()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    WORKER_REPORTS.extend(getattr(node, "workeroutput", {}).get("reports", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault tests' counts and live-update times, in every run's output (CI's included)."""
    lines = _reports() + WORKER_REPORTS
    if lines:
        terminalreporter.section("measured by the tests")
        for line in lines:
            terminalreporter.write_line(line)
