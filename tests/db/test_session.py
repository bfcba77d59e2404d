"""Closing a session survives its caller's cancellation: a subscription's task is cancelled when
the client goes away, often while the session gives its connection back."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from service.db.engine import create_engine, create_sessionmaker
from tests.support import settings_for


async def test_a_cancelled_close_still_returns_the_connection(
    empty_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(settings_for(empty_url))
    try:
        sessions = create_sessionmaker(engine)
        for attempt in range(40):
            session = sessions()
            await session.execute(text("SELECT 1"))
            closing = asyncio.ensure_future(session.close())
            # The close has begun (a task cancelled before it ever ran never closes anything);
            # the client goes away at a different point of it each time.
            for _ in range(1 + attempt % 8):
                await asyncio.sleep(0)
            if closing.done():
                continue
            closing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await closing
        # Each close finished anyway: the pool logged no failed close, and (PostgreSQL's queue
        # pool; SQLite's files are opened per use) every connection is back in it.
        checked_out = getattr(engine.pool, "checkedout", lambda: 0)
        for _ in range(100):
            if checked_out() == 0:
                break
            await asyncio.sleep(0.01)
        assert checked_out() == 0
        await asyncio.sleep(0.05)  # a close cut short logs when its connection thread ends
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == []
        async with sessions() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
