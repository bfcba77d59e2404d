"""The KFUPM records imported into each backend (once per test process, copied for each test
module) and served, once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import create_app
from tests.imports.support import import_kfupm
from tests.search.support import Api
from tests.support import (
    LiveServer,
    create_prepared_database,
    drop_database,
    serve,
    settings_for,
)


@pytest.fixture(scope="module")
def imported_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_prepared_database(
        backend, Path(tmp_path_factory.mktemp("search")), "kfupm", import_kfupm
    )
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def live(imported_url: str) -> Iterator[LiveServer]:
    with serve(create_app(settings_for(imported_url, in_process_workers=False))) as server:
        yield server


@pytest.fixture(scope="module")
def unwindowed(imported_url: str) -> Iterator[LiveServer]:
    """A server whose searches rank, count and facet every match (a window larger than the
    records): what the search finds, before the window cuts it."""
    settings = settings_for(imported_url, in_process_workers=False, search_window=1_000_000)
    with serve(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[Api]:
    with live.client() as client:
        yield Api(client)
