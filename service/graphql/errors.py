"""Turns every error into one a client may see: a ``ServiceError`` keeps its message and gets its
``extensions.code``; GraphQL's own parse and validation errors get a code; anything else is
logged with the request id and replaced by a generic message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, OperationalError
from strawberry.extensions import SchemaExtension

from service.errors import ServiceError
from service.logging import log

TOO_COMPLEX_MARKERS = ("exceeds maximum operation depth", "aliases found. Allowed", "more than")
"""Messages of strawberry's depth, alias and token limiters, which carry no code of their own."""
QUERY_CANCELED = "57014"
"""PostgreSQL SQLSTATE of a statement cancelled by ``statement_timeout``."""


def classify(error: GraphQLError) -> tuple[str, str, dict[str, Any]]:
    """``(code, client message, extra extensions)`` for one error."""
    original = error.original_error
    if isinstance(original, ServiceError):
        return original.code, original.message, original.extensions
    if original is None or isinstance(original, GraphQLError):
        message = error.message
        if message.startswith("Syntax Error"):
            if "tokens" in message and "more than" in message:
                return "QUERY_TOO_COMPLEX", message, {}
            return "GRAPHQL_PARSE_FAILED", message, {}
        if any(marker in message for marker in TOO_COMPLEX_MARKERS[:2]):
            return "QUERY_TOO_COMPLEX", message, {}
        if message.startswith("Variable '$") or "cannot represent" in message:
            return "BAD_USER_INPUT", message, {}
        if error.path is None:
            return "GRAPHQL_VALIDATION_FAILED", message, {}
        # A value that failed to coerce (an Int over 2^31, say) on the way out or in.
        return "BAD_USER_INPUT", message, {}
    if isinstance(original, DBAPIError) and getattr(original.orig, "sqlstate", None) == QUERY_CANCELED:
        return "TIMEOUT", "The query took too long and was cancelled.", {}
    if isinstance(original, (OperationalError, ConnectionError, TimeoutError, OSError)) or (
        isinstance(original, DBAPIError) and original.connection_invalidated
    ):
        return "SERVICE_UNAVAILABLE", "The database is unavailable; try again shortly.", {}
    return "INTERNAL_SERVER_ERROR", "Internal server error.", {}


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        metrics = getattr(context, "metrics", None)
        formatted = []
        for error in errors:
            code, message, extra = classify(error)
            if code in ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"):
                log.error(
                    "graphql.error",
                    code=code,
                    path=error.path,
                    error=repr(error.original_error),
                    exc_info=error.original_error,
                )
            extensions = {"code": code, **extra}
            if code == "INTERNAL_SERVER_ERROR" and request_id:
                extensions["requestId"] = request_id
            if metrics is not None:
                metrics.errors.labels(code=code).inc()
            formatted.append(
                GraphQLError(
                    message,
                    nodes=error.nodes,
                    source=error.source,
                    positions=error.positions,
                    path=error.path,
                    extensions=extensions,
                )
            )
        result.errors = formatted
