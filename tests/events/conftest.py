from __future__ import annotations

from tests.events.private_servers import private_postgres, private_redis

__all__ = ["private_postgres", "private_redis"]
