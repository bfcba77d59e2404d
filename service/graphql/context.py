"""The typed context every resolver gets: one database session, one set of loaders, and who is
asking, per operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from service.accounts.models import Account, ApiKey
from service.accounts.secrets import Passwords
from service.config import Settings
from service.errors import Unauthenticated
from service.graphql.loaders import Loaders
from service.live.hub import LiveHub
from service.live.leases import Leases
from service.live.publisher import Publisher
from service.mail.mailer import Mailer
from service.metrics import Metrics
from service.ratelimit import RateLimiter


@dataclass(frozen=True)
class Services:
    """Built once per process and shared by every request."""

    settings: Settings
    metrics: Metrics
    passwords: Passwords
    mailer: Mailer
    rate_limiter: RateLimiter
    live: LiveHub
    publisher: Publisher
    """Tells every API process about changes made here (a session that signed out)."""
    leases: Leases
    """Places of WebSocket connections per account, key or address."""


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    session: AsyncSession
    services: Services
    request_id: str
    viewer: Account | None = None
    """The signed-in person; never set by an API key."""
    api_key: ApiKey | None = None
    """The integrator's key, when the request came with one."""
    bearer_token: str | None = None
    """The session token or API key the request came with (header, cookie or WebSocket
    ``connection_init`` payload)."""
    session_id: int | None = None
    """The signed-in account session, when the viewer is signed in."""
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Work that must wait until the operation's changes are committed (sending mail)."""
    cache_tags: set[str] = field(default_factory=set)
    """``Type:pk`` of what the answer depends on beyond the ids it shows (the response cache:
    ``service.graphql.response_cache``)."""
    cacheable: bool = True
    """False when a resolver read what no tag names (a hub's members): never cached."""
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session, self)

    async def renew(self) -> None:
        """Give the session's connection back to the pool and forget what the loaders cached:
        a subscription does this while it waits for its next message."""
        await self.session.close()
        self.loaders = Loaders(self.session, self)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def metrics(self) -> Metrics:
        return self.services.metrics

    @property
    def client_address(self) -> str:
        client = self.request.client
        return client.host if client else "unknown"

    def require_viewer(self) -> Account:
        if self.viewer is None:
            raise Unauthenticated("Sign in first.")
        return self.viewer


Info = strawberry.Info[Context, None]
