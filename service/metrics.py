"""Prometheus metrics: requests and latency by operation, errors by code, database pool, and
the event backlog (read from the outbox, so it covers every relay and worker process)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_LABELS = 50
"""Distinct operation names kept as labels besides our clients' own (``known_operations``):
clients choose names, so past this the rest become "other"."""


class Metrics:
    def __init__(self, known_operations: Iterable[str] = ()) -> None:
        self.known_operations = frozenset(known_operations)
        """Operation names always labelled: those of the client documents we keep."""
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "bzpeer_http_requests",
            "HTTP requests by route and status",
            ["path", "status"],
            registry=self.registry,
        )
        self.operations = Counter(
            "bzpeer_graphql_operations",
            "GraphQL operations by name and type",
            ["operation", "type"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "bzpeer_graphql_operation_duration_seconds",
            "GraphQL operation latency",
            ["operation"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.planned_answers = Counter(
            "bzpeer_graphql_planned_answers",
            "Operations answered by a compiled plan instead of GraphQL execution "
            "(service/graphql/plans.py); also counted in bzpeer_graphql_operations",
            ["operation"],
            registry=self.registry,
        )
        self.cached_answers = Counter(
            "bzpeer_graphql_cached_answers",
            "Anonymous reads answered from this process's response cache "
            "(service/graphql/response_cache.py); also counted in bzpeer_graphql_operations",
            ["operation"],
            registry=self.registry,
        )
        self.errors = Counter(
            "bzpeer_graphql_errors",
            "GraphQL errors by extensions.code",
            ["code"],
            registry=self.registry,
        )
        self.events = Gauge(
            "bzpeer_events",
            "Outbox events by delivery state: unpublished (relay behind), unprocessed (workers "
            "behind), failed (dead-lettered after the last retry; see `bzpeer events failed`)",
            ["state"],
            registry=self.registry,
        )
        self.websockets = Gauge(
            "bzpeer_websocket_connections",
            "WebSocket connections this process has admitted (after connection_init)",
            registry=self.registry,
        )
        self.live_watched = Gauge(
            "bzpeer_live_watched",
            "Values (a researcher's follower count or trust) this process's subscribers watch",
            registry=self.registry,
        )
        self.live_pubsub_connections = Gauge(
            "bzpeer_live_pubsub_connections",
            "Pub/sub connections this process has made so far; more than 1 means it lost and "
            "re-established the connection (and re-read every watched value)",
            registry=self.registry,
        )
        self._operation_names: set[str] = set()

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if name in self.known_operations:
            return name
        if not OPERATION_NAME.match(name):
            return "other"
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATION_LABELS:
                return "other"
            self._operation_names.add(name)
        return name

    def watch_pool(self, engine: AsyncEngine) -> None:
        self.registry.register(PoolCollector(engine))


class PoolCollector(Collector):
    """The SQLAlchemy pool at scrape time. Connections in use are counted from pool events, so
    that the embedded default's SQLite (no pooling) reports them too."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.in_use = 0
        event.listen(engine.sync_engine, "checkout", self._checkout)
        event.listen(engine.sync_engine, "checkin", self._checkin)

    def _checkout(self, *_args: object) -> None:
        self.in_use += 1

    def _checkin(self, *_args: object) -> None:
        self.in_use -= 1

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily("bzpeer_db_pool_checked_out", "Connections in use")
        in_use.add_metric([], float(self.in_use))
        yield in_use
        pool = self.engine.sync_engine.pool
        for name, doc, read in (
            ("size", "Configured pool size", "size"),
            ("overflow", "Connections beyond the pool size", "overflow"),
            ("checked_in", "Idle connections in the pool", "checkedin"),
        ):
            reader = getattr(pool, read, None)
            if reader is None:
                continue
            gauge = GaugeMetricFamily(f"bzpeer_db_pool_{name}", doc)
            gauge.add_metric([], float(reader()))
            yield gauge
