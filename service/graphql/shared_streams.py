"""Identical subscriptions on one API process share one execution. A profile page open in a
thousand browsers sends one document with the same variables a thousand times; executing its
selection once per change and sending that result to every socket is what makes fan-out cost
a send per subscriber instead of a GraphQL execution per subscriber. "Identical" includes who
asks, so viewer-dependent fields stay right."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse

from service.logging import log

Key = tuple[str, str, str | None, str]
"""(document, variables as JSON, operation name, who asks)"""

MAX_PENDING = 16
"""Results waiting for one slow socket; beyond this the oldest are dropped. Every result is the
whole current state (a count, a snapshot), so the socket still ends on the latest."""


@lru_cache(maxsize=1_000)
def is_subscription(document: str, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation is a subscription; False for a document that does not parse (or
    has more than ``max_tokens`` tokens: a huge document must not cost a full parse here)."""
    try:
        operation = get_operation_ast(parse(document, max_tokens=max_tokens), operation_name)
    except GraphQLError:
        return False  # executed alone, where the error is reported
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class _Listener:
    def __init__(self) -> None:
        self.pending: deque[Any] = deque(maxlen=MAX_PENDING)
        self.wake = asyncio.Event()

    def push(self, result: Any) -> None:
        self.pending.append(result)
        self.wake.set()


class _Shared:
    def __init__(self) -> None:
        self.listeners: set[_Listener] = set()
        self.latest: Any = None
        self.done = False
        self.task: asyncio.Task[None] | None = None

    def start(self, open_source: Callable[[], Awaitable[AsyncGenerator[Any, None]]]) -> None:
        self.task = asyncio.create_task(self._run(open_source), name="shared-subscription")

    async def _run(self, open_source: Callable[[], Awaitable[AsyncGenerator[Any, None]]]) -> None:
        try:
            source = await open_source()
            try:
                async for result in source:
                    self.latest = result
                    for listener in self.listeners:
                        listener.push(result)
            finally:
                await source.aclose()
        except Exception:  # strawberry turns resolver errors into results; this is a bug
            log.exception("live.shared_subscription_failed")
        finally:
            self.done = True
            for listener in self.listeners:
                listener.wake.set()

    def add(self) -> _Listener:
        listener = _Listener()
        if self.latest is not None:  # a late joiner starts from the current value
            listener.push(self.latest)
        self.listeners.add(listener)
        return listener

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class SharedStreams:
    def __init__(self) -> None:
        self.active: dict[Key, _Shared] = {}

    async def join(
        self, key: Key, open_source: Callable[[], Awaitable[AsyncGenerator[Any, None]]]
    ) -> AsyncGenerator[Any, None]:
        """The results of the shared execution of ``key``, started with ``open_source`` by
        the first to join and stopped when the last leaves."""
        shared = self.active.get(key)
        if shared is None or shared.done:
            shared = self.active[key] = _Shared()
            shared.start(open_source)
        listener = shared.add()
        try:
            while True:
                while listener.pending:
                    yield listener.pending.popleft()
                if shared.done:
                    return
                listener.wake.clear()
                if not listener.pending and not shared.done:
                    await listener.wake.wait()
        finally:
            shared.listeners.discard(listener)
            if not shared.listeners:
                if self.active.get(key) is shared:
                    del self.active[key]
                await shared.stop()
