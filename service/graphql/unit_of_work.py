"""One transaction per mutation operation: committed once when every field succeeded, rolled
back (with no data claimed) when any failed. Work queued in ``after_commit`` runs only after a
successful commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.logging import log


class UnitOfWork(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context
        context = ctx.context
        result = ctx.result
        try:
            is_mutation = ctx.operation_type is OperationType.MUTATION
        except RuntimeError:
            is_mutation = False
        if not is_mutation or result is None or not hasattr(result, "errors"):
            return
        session = context.session
        if result.errors:
            await session.rollback()
            context.after_commit.clear()
            result.data = None  # nothing of it was written
            return
        try:
            await session.commit()
        except Exception as exc:
            await session.rollback()
            context.after_commit.clear()
            result.data = None
            result.errors = [GraphQLError(str(exc), original_error=exc)]
            return
        for work in context.after_commit:
            try:
                await work()
            except Exception:
                log.exception("after_commit.failed")
