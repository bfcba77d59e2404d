from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.events.private_servers import private_redis
from tests.support import create_database, drop_database, load_demo_into

__all__ = ["private_redis"]


@pytest.fixture
def fresh_demo_url(backend: str, database_dir: Path) -> Iterator[str]:
    """A demo database of the test's own (these tests follow and unfollow)."""
    url = create_database(backend, database_dir)
    load_demo_into(url)
    yield url
    drop_database(url)
