"""One transaction per mutation operation: committed once when every field succeeded, rolled
back (with no data claimed) when any failed. Work queued in ``after_commit`` runs only after a
successful commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.db.session import begin_writing
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


def _is_mutation(extension: SchemaExtension) -> bool:
    try:
        return extension.execution_context.operation_type is OperationType.MUTATION
    except RuntimeError:  # no operation could be chosen; execution reports it
        return False
