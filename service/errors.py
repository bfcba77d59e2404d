"""Errors a client may see. Each carries a stable ``code`` that the GraphQL layer puts into
``extensions.code``; anything that is not a ``ServiceError`` is masked before it leaves."""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """Base of every error whose message is safe to show to a client."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class BadUserInput(ServiceError):
    """Raised when an argument is malformed or out of range."""

    code = "BAD_USER_INPUT"


class NotFound(ServiceError):
    """Raised when an id names nothing that exists."""

    code = "NOT_FOUND"


class Unauthenticated(ServiceError):
    """Raised when an operation needs a signed-in account and there is none."""

    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    """Raised when the signed-in account may not touch the object."""

    code = "FORBIDDEN"


class Conflict(ServiceError):
    """Raised when a change collides with the current state (a record already claimed)."""

    code = "CONFLICT"


class RateLimited(ServiceError):
    """Raised when a caller exceeds a rate limit; ``retry_after`` is in seconds."""

    code = "RATE_LIMITED"


class QueryTooComplex(ServiceError):
    """Raised when an operation exceeds the depth, alias, token or cost limits."""

    code = "QUERY_TOO_COMPLEX"
