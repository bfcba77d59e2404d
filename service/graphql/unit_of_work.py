"""One transaction per mutation operation: committed once when every field succeeded, rolled
back (with no data claimed) when any failed. Work queued in ``after_commit`` runs only after a
successful commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.db.session import begin_writing
from service.events.wakeups import EMITTED
from service.live.invalidation import tags_of_events
from service.live.publisher import Publisher
from service.logging import log


class UnitOfWork(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        is_mutation = _is_mutation(self)
        if is_mutation:
            await begin_writing(ctx.context.session)
        yield
        context = ctx.context
        result = ctx.result
        if not is_mutation or result is None or not hasattr(result, "errors"):
            return
        session = context.session
        if result.errors:
            await session.rollback()
            context.after_commit.clear()
            result.data = None  # nothing of it was written
            return
        emitted = list(session.info.get(EMITTED, ()))
        try:
            await session.commit()
        except Exception as exc:
            await session.rollback()
            context.after_commit.clear()
            result.data = None
            result.errors = [GraphQLError(str(exc), original_error=exc)]
            return
        await _invalidate(context.services.publisher, tags_of_events(emitted))
        for work in context.after_commit:
            try:
                await work()
            except Exception:
                log.exception("after_commit.failed")


async def _invalidate(publisher: Publisher, tags: set[str]) -> None:
    """Before the answer goes out: a client that reads after its mutation's answer, from any
    API process, never gets a cached answer older than the change."""
    if not tags:
        return
    try:
        await asyncio.to_thread(publisher.invalidate, tags)
    except Exception:  # committed: the answer stands; cached answers expire by their TTL
        log.warning("cache.invalidate_failed", tags=len(tags), exc_info=True)


def _is_mutation(extension: SchemaExtension) -> bool:
    try:
        return extension.execution_context.operation_type is OperationType.MUTATION
    except RuntimeError:  # no operation could be chosen; execution reports it
        return False
