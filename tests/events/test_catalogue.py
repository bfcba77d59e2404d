"""The event catalogue: every type consumed or declared audit-only, consumers loaded explicitly
and checked against it, and a relay that never marks processed what it does not know."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text

from service.db.engine import create_engine, create_sessionmaker
from service.events.catalogue import AUDIT_ONLY, CONSUMED, CatalogueMismatch, EventType
from service.events.service import emit, events
from tests.support import settings_for
from workers.actor import EVENT_ACTORS, EventActor
from workers.actors import load
from workers.broker import DERIVED_QUEUE, EVENTS_QUEUE
from workers.relay import Relay


def test_every_type_is_consumed_or_audit_only_and_the_consumers_match() -> None:
    assert set(EventType) == CONSUMED | AUDIT_ONLY and not CONSUMED & AUDIT_ONLY
    assert set(load()) == CONSUMED


@pytest.fixture
def consumers_missing() -> Iterator[dict[str, EventActor]]:
    """The registry as a process that lost (or never imported) some consumers has it."""
    load()
    saved = dict(EVENT_ACTORS)
    try:
        yield saved
    finally:
        EVENT_ACTORS.clear()
        EVENT_ACTORS.update(saved)


@pytest.mark.parametrize("left", [0, 1], ids=["empty registry", "one consumer short"])
def test_a_relay_without_every_consumer_refuses_to_start(
    consumers_missing: dict[str, EventActor], left: int, empty_url: str
) -> None:
    EVENT_ACTORS.clear()
    if left:
        missing = EventType.WORKS_ADDED
        EVENT_ACTORS.update({k: v for k, v in consumers_missing.items() if k != missing})
    settings = settings_for(empty_url)
    engine = create_engine(settings)
    try:
        with pytest.raises(CatalogueMismatch, match="no consumer for"):
            Relay(settings, StubBroker(), create_sessionmaker(engine))
    finally:
        asyncio.run(engine.dispose())


def test_emit_refuses_a_type_not_in_the_catalogue(empty_url: str) -> None:
    async def run() -> None:
        engine = create_engine(settings_for(empty_url))
        try:
            async with create_sessionmaker(engine)() as session:
                with pytest.raises(ValueError, match=r"works\.added_typo"):
                    emit(session, "works.added_typo", work_id=1)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_the_relay_leaves_an_unknown_type_unprocessed_for_one_that_knows_it(
    empty_url: str,
) -> None:
    """A newer producer's event (rolling deploy): published, never marked processed here, and
    offered again to a relay consuming it."""

    async def run() -> dict[str, tuple[bool, bool]]:
        settings = settings_for(empty_url)
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        broker = StubBroker()
        for queue in (EVENTS_QUEUE, DERIVED_QUEUE):
            broker.declare_queue(queue)
        try:
            async with sessionmaker() as session:
                emit(session, EventType.ACCOUNTS_CREATED, account_id=1)
                emit(session, EventType.FOLLOWS_CREATED, account_id=1, researcher_id=1)
                await session.execute(
                    text(
                        "INSERT INTO outbox_events (event_type, payload, created_at) "
                        "VALUES ('future.thing', '{}', CURRENT_TIMESTAMP)"
                    )
                )
                await session.commit()
            relay = Relay(settings, broker, sessionmaker)
            assert await relay.publish() == 3
            assert broker.queues[EVENTS_QUEUE].qsize() == 1  # only the consumed one was sent
            async with sessionmaker() as session:
                rows = await session.execute(
                    text("SELECT event_type, published_at, processed_at FROM outbox_events")
                )
                states = {t: (p is not None, d is not None) for t, p, d in rows}
                again = await events.take_overdue(
                    session, -dt.timedelta(hours=1), {"future.thing"}, 10
                )
                assert [e.event_type for e in again] == ["future.thing"]
            return states
        finally:
            await engine.dispose()

    states = asyncio.run(run())
    assert states == {
        "accounts.created": (True, True),  # audit-only: processed as published
        "follows.created": (True, False),  # consumed: processed by its actor, later
        "future.thing": (True, False),  # unknown: left for a relay that knows it
    }
