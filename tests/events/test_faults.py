"""Faults on real processes: the test's own PostgreSQL and Redis, ``bzpeer serve --api-only``,
``bzpeer relay`` and ``bzpeer worker``. Each scenario ends with no committed event lost, none
applied twice, and derived data equal to a plain SQL recount from the source tables
(``tests/events/recount.py``) and to ``bzpeer recompute --all``.

No scenario waits a fixed time: each fault comes once the condition that makes it bite holds
(a worker busy applying events, changes committed while Redis or PostgreSQL is down), and the
load keeps coming until then."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dramatiq.brokers.redis import RedisBroker

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.events.models import OutboxEvent
from service.graphql.relay import to_global_id
from tests.events.deployment import FOLLOW, Deployment, Outcome
from tests.events.population import add_work, follow_all, sql
from tests.events.private_servers import PrivatePostgres, PrivateRedis
from tests.support import eventually
from workers.relay import event_message

pytestmark = pytest.mark.timeout(300)

OnPrivateServers = Deployment[PrivatePostgres]
"""A deployment whose PostgreSQL the tests may restart."""

REPORTS: list[str] = []
"""One line per scenario, printed at the end of the test session (tests/conftest.py)."""


@pytest.fixture
def deployment(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> Iterator[OnPrivateServers]:
    deployment = Deployment(private_postgres, private_redis, tmp_path)
    try:
        yield deployment
    finally:
        try:
            deployment.close()
        finally:
            if not private_postgres.running:  # a test that failed while it was down
                private_postgres.start()


def assert_nothing_lost_or_doubled(outcome: Outcome, scenario: str) -> None:
    REPORTS.append(outcome.line(scenario))
    print(outcome.line(scenario))
    assert outcome.committed >= 100, outcome
    assert outcome.faults == (0, 0, 0, 0, 0), outcome.details


def test_worker_killed_five_times(deployment: OnPrivateServers) -> None:
    deployment.start_all()
    stream = deployment.stream(events=300, seconds=8)
    for _ in range(5):
        # Killed while busy: it has applied events, and holds more it fetched.
        deployment.wait_for_applied("worker", 5)
        assert deployment.kill("worker") == -9
        deployment.start_worker()
    stream.finish()
    assert_nothing_lost_or_doubled(deployment.outcome(), "worker kill -9 x5")


def test_relay_killed_at_each_crash_point(deployment: OnPrivateServers) -> None:
    deployment.start_api()
    deployment.start_worker()
    stream = deployment.stream(events=300, seconds=8)
    for point in ("relay.after_send", "relay.after_mark"):
        relay = deployment.start_relay(BZPEER_FAILPOINTS=f"{point}=kill:3")
        assert relay.wait(timeout=60) == -9, f"the relay did not die at {point}"
    deployment.start_relay()
    stream.finish()
    assert_nothing_lost_or_doubled(deployment.outcome(), "relay kill -9 at both crash points")


def test_redis_killed_and_restarted(deployment: OnPrivateServers) -> None:
    deployment.start_all()
    stream = deployment.stream(events=300, seconds=8)
    # Events flow through Redis: some are queued or in flight when it dies.
    deployment.wait_for_applied("worker", 20)
    retried = deployment.logged("relay", "relay.retrying")
    deployment.redis.kill()  # every queued message is gone: nothing is kept on disk
    # A change committed while Redis is down (the stream's follows fail meanwhile: their rate
    # limit is in Redis); Redis comes back once the relay has failed to send.
    add_work(deployment.settings, "Written while Redis is down", [deployment.researchers[0]])
    deployment.wait_for_log("relay", "relay.retrying", times=retried + 1)
    deployment.redis.restart()
    stream.finish()
    assert_nothing_lost_or_doubled(deployment.outcome(), "Redis kill -9 and restart")


def test_postgres_restarted(deployment: OnPrivateServers) -> None:
    deployment.start_all()
    stream = deployment.stream(events=300, seconds=10)
    deployment.wait_for_applied("worker", 20)  # the pipeline is busy when the database dies
    retried = deployment.logged("relay", "relay.retrying")
    deployment.postgres.kill()
    started = time.monotonic()
    body = deployment.graphql("{ researchers(first: 1) { edges { node { id } } } }", {})
    answered_in = time.monotonic() - started
    assert answered_in < 12, "the API hung while the database was down"
    assert body["data"] is None or "errors" in body
    assert body["errors"][0]["extensions"]["code"] in ("SERVICE_UNAVAILABLE", "TIMEOUT")
    # Down until the load has met the outage a few more times (changes refused, none
    # committed) and the relay has failed to reach the database.
    errors = deployment.api_errors

    def load_met_the_outage() -> None:
        assert deployment.api_errors >= errors + 3, deployment.api_errors

    eventually(load_met_the_outage, timeout=60)
    deployment.wait_for_log("relay", "relay.retrying", times=retried + 1)
    deployment.postgres.start()
    back = time.monotonic()
    while True:
        try:
            body = deployment.graphql("{ researchers(first: 1) { edges { node { id } } } }", {})
        except httpx.HTTPError:
            body = {"errors": ["transport"]}
        if "errors" not in body:
            break
        assert time.monotonic() - back < 15, body
        time.sleep(0.1)
    recovered_in = time.monotonic() - back
    stream.finish()
    outcome = deployment.outcome()
    REPORTS.append(
        f"PostgreSQL down: the API answered with errors in {answered_in:.2f} s and served again "
        f"{recovered_in:.2f} s after the database was back"
    )
    assert_nothing_lost_or_doubled(outcome, "PostgreSQL kill -9 and restart")


def test_same_event_delivered_50_times_concurrently(
    deployment: OnPrivateServers,
) -> None:
    workers = ("worker-a", "worker-b")
    for name in workers:
        deployment.start_worker(name)
    for name in workers:
        deployment.wait_for_log(name, "worker.started")
    settings = deployment.settings
    seed = deployment.researchers[2]
    follow_all(settings, seed, [deployment.members[0].account_id])  # no relay: sent by hand
    ((event_id,),) = sql(settings, "SELECT max(id) FROM outbox_events")
    event = _outbox_event(settings, event_id)
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=deployment.redis.url(), namespace=settings.broker_namespace
    )
    try:
        for _ in range(50):
            broker.enqueue(event_message(event))
    finally:
        broker.client.close()

    def all_consumed() -> None:
        # None queued, delayed for a retry, dead-lettered, or fetched and not yet acknowledged.
        assert deployment.broker_holds() == {}

    eventually(all_consumed, timeout=60, interval=0.05)
    deployment.wait_until_settled(timeout=30)
    deployment.stop_all()  # each worker logs its counts as it stops
    counts = {name: deployment.worker_counts(name) for name in workers}
    processed = sum(c["processed"] for c in counts.values())
    duplicates = sum(c["duplicates"] for c in counts.values())
    applied = deployment.applications()[event_id]
    ((followers,),) = sql(settings, "SELECT followers_count FROM researchers WHERE id = :i", i=seed)
    consumed = ", ".join(f"{n} {c['processed'] + c['duplicates']}" for n, c in counts.items())
    REPORTS.append(
        f"one event delivered 50 times to 2 workers: consumed {processed + duplicates} "
        f"({consumed}), applied {processed} (logged {applied}), no-ops {duplicates}, "
        f"followers count {followers}"
    )
    assert (processed, duplicates) == (1, 49), counts
    assert sum(c["dead_lettered"] for c in counts.values()) == 0, counts
    assert (applied, followers) == (1, 1)


def _outbox_event(settings: Settings, event_id: int) -> OutboxEvent:
    async def load() -> OutboxEvent:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                event = await session.get(OutboxEvent, event_id)
                assert event is not None
                return event
        finally:
            await engine.dispose()

    return asyncio.run(load())


PAGE = """query($id: ID!) { researcher(id: $id) { counts { followers }
  trust { score history(first: 20) { score computedAt factors { key detail } } } } }"""


def test_a_follow_shows_on_the_page_within_a_second(
    deployment: OnPrivateServers,
) -> None:
    """The issue's "done when", on separate API, relay and worker processes."""
    deployment.start_all()
    deployment.wait_for_log("relay", "relay.listening")
    deployment.wait_for_log("worker", "worker.started")
    # A running service: the first event of a fresh process pays for connections and plans.
    warm_up = to_global_id("Researcher", deployment.researchers[1])
    assert "errors" not in deployment.graphql(FOLLOW, {"id": warm_up}, deployment.members[1].token)
    deployment.wait_until_settled(timeout=10)
    seed = to_global_id("Researcher", deployment.researchers[2])
    before = deployment.graphql(PAGE, {"id": seed})["data"]["researcher"]
    member = deployment.members[0]
    started = time.monotonic()
    followed = deployment.graphql(FOLLOW, {"id": seed}, member.token)
    assert "errors" not in followed, followed

    def page_moved() -> dict[str, Any]:
        page = deployment.graphql(PAGE, {"id": seed})["data"]["researcher"]
        assert page["counts"]["followers"] == before["counts"]["followers"] + 1
        assert len(page["trust"]["history"]) == len(before["trust"]["history"]) + 1
        return page  # type: ignore[no-any-return]

    page = eventually(page_moved, timeout=1.0, interval=0.01)
    elapsed = time.monotonic() - started
    REPORTS.append(f"separate processes: follow -> counts and a new trust entry in {elapsed:.3f} s")
    newest = {f["key"]: f["detail"] for f in page["trust"]["history"][0]["factors"]}
    assert newest["followers"].startswith(f"{before['counts']['followers'] + 1} follower")
