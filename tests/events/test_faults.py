"""Faults on real processes: the test's own PostgreSQL and Redis, ``bzpeer serve --api-only``,
``bzpeer relay`` and ``bzpeer worker``. Each scenario ends with no committed event lost, none
applied twice, and derived data equal to ``bzpeer recompute --all``."""

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
from tests.events.population import follow_all, sql
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
    yield deployment
    deployment.stop_all()


def assert_nothing_lost_or_doubled(outcome: Outcome, scenario: str) -> None:
    REPORTS.append(outcome.line(scenario))
    print(outcome.line(scenario))
    assert outcome.committed >= 100, outcome
    assert (outcome.lost, outcome.applied_twice, outcome.oracle_mismatches) == (0, 0, 0), (
        outcome.details
    )


def test_worker_killed_five_times(deployment: OnPrivateServers) -> None:
    deployment.start_all()
    stream = deployment.stream(events=300, seconds=8)
    for _ in range(5):
        time.sleep(1.2)
        assert deployment.kill("worker") == -9
        deployment.start_worker()
    stream.join()
    assert_nothing_lost_or_doubled(deployment.outcome(), "worker kill -9 x5")


def test_relay_killed_at_each_crash_point(deployment: OnPrivateServers) -> None:
    deployment.start_api()
    deployment.start_worker()
    stream = deployment.stream(events=300, seconds=8)
    for point in ("relay.after_send", "relay.after_mark"):
        relay = deployment.start_relay(BZPEER_FAILPOINTS=f"{point}=kill:3")
        assert relay.wait(timeout=60) == -9, f"the relay did not die at {point}"
    deployment.start_relay()
    stream.join()
    assert_nothing_lost_or_doubled(deployment.outcome(), "relay kill -9 at both crash points")


def test_redis_killed_and_restarted(deployment: OnPrivateServers) -> None:
    deployment.start_all()
    stream = deployment.stream(events=300, seconds=8)
    time.sleep(3)
    deployment.redis.kill()  # every queued message is gone: nothing is kept on disk
    time.sleep(1.5)
    deployment.redis.restart()
    stream.join()
    assert_nothing_lost_or_doubled(deployment.outcome(), "Redis kill -9 and restart")


def test_postgres_restarted(deployment: OnPrivateServers) -> None:
    deployment.start_all()
    stream = deployment.stream(events=300, seconds=10)
    time.sleep(3)
    deployment.postgres.kill()
    started = time.monotonic()
    body = deployment.graphql("{ researchers(first: 1) { edges { node { id } } } }", {})
    answered_in = time.monotonic() - started
    assert answered_in < 12, "the API hung while the database was down"
    assert body["data"] is None or "errors" in body
    assert body["errors"][0]["extensions"]["code"] in ("SERVICE_UNAVAILABLE", "TIMEOUT")
    time.sleep(2)
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
    stream.join()
    outcome = deployment.outcome()
    REPORTS.append(
        f"PostgreSQL down: the API answered with errors in {answered_in:.2f} s and served again "
        f"{recovered_in:.2f} s after the database was back"
    )
    assert_nothing_lost_or_doubled(outcome, "PostgreSQL kill -9 and restart")


def test_same_event_delivered_50_times_concurrently(
    deployment: OnPrivateServers,
) -> None:
    deployment.start_worker("worker-a")
    deployment.start_worker("worker-b")
    settings = deployment.settings
    seed = deployment.researchers[2]
    follow_all(settings, seed, [deployment.members[0].account_id])
    ((event_id,),) = sql(settings, "SELECT max(id) FROM outbox_events")
    event = _outbox_event(settings, event_id)
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=deployment.redis.url(), namespace=settings.broker_namespace
    )
    for _ in range(50):
        broker.enqueue(event_message(event))
    deployment.wait_until_settled(timeout=30)
    deployment.stop_all()
    applied = deployment.applications()[event_id]
    ((followers,),) = sql(settings, "SELECT followers_count FROM researchers WHERE id = :i", i=seed)
    REPORTS.append(
        f"one event delivered 50 times to 2 workers: applied {applied} time(s), "
        f"followers count {followers}"
    )
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
