"""Turns every error into one a client may see: a ``ServiceError`` keeps its message and gets its
``extensions.code``; GraphQL's own parse and validation errors get a code; anything else is
logged with the request id and replaced by a generic message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import SchemaExtension

from service.errors import ServiceError
from service.logging import log

TOO_COMPLEX_MARKERS = ("exceeds maximum operation depth", "aliases found. Allowed")
"""Messages of strawberry's depth and alias limiters, which carry no code of their own."""
QUERY_CANCELED = "57014"
UNREACHABLE_ERRORS = {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError"}
"""asyncpg's names for a connection that is gone or not there yet."""
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
        if any(marker in message for marker in TOO_COMPLEX_MARKERS):
            return "QUERY_TOO_COMPLEX", message, {}
        if message.startswith("Variable '$") or "cannot represent" in message:
            return "BAD_USER_INPUT", message, {}
        if error.path is None:
            return "GRAPHQL_VALIDATION_FAILED", message, {}
        # A value that failed to coerce (an Int over 2^31, say) on the way out or in.
        return "BAD_USER_INPUT", message, {}
    if _sqlstate(original) == QUERY_CANCELED:
        return "TIMEOUT", "The query took too long and was cancelled.", {}
    if _database_unreachable(original):
        return "SERVICE_UNAVAILABLE", "The database is unavailable; try again shortly.", {}
    return "INTERNAL_SERVER_ERROR", "Internal server error.", {}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (a DBAPI error's ``orig``) and what caused it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )


def _sqlstate(error: BaseException) -> str | None:
    for link in _chain(error):
        state = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def _database_unreachable(error: BaseException) -> bool:
    """Connection refused, reset or lost, or PostgreSQL shutting down or starting up (SQLSTATE
    classes 08 and 57P): a passing state, unlike a bug."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    state = _sqlstate(error)
    if state is not None and (state.startswith("08") or state.startswith("57P")):
        return True
    return any(
        isinstance(link, (ConnectionError, TimeoutError))
        or type(link).__name__ in UNREACHABLE_ERRORS
        for link in _chain(error)
    )


SUGGESTION = re.compile(r" Did you mean .*\?$")
"""graphql-core's hint naming fields, types or arguments that exist: with introspection off,
the schema is not told piecemeal either."""


class ErrorCodes(SchemaExtension):
    """Over HTTP an operation has one result, masked when the operation ends; over a
    WebSocket each result is masked before it is sent. ``suggestions``: keep graphql-core's
    "Did you mean" hints (off where introspection is)."""

    streamed = False

    def __init__(self, *, suggestions: bool = True) -> None:
        self.suggestions = suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        if not self.streamed:
            self._mask(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self.streamed = True
        self._mask(result)
        yield

    def _mask(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        metrics = getattr(context, "metrics", None)
        formatted = []
        for error in errors:
            code, message, extra = classify(error)
            if not self.suggestions:
                message = SUGGESTION.sub("", message)
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
