"""GraphQL over WebSocket (graphql-transport-ws) at ``/graphql``. strawberry speaks the
protocol, with its close codes: 4408 when ``connection_init`` does not come in time, 4429 for
a second one, 4401 for a subscribe before the ack, 4409 for an id already in use, 4400 for a
malformed message. Here: who connects (a token in the ``connection_init`` payload or the
session cookie), caps on connections per owner and subscriptions per connection, sign-out
closing its session's sockets, and a context of its own for each operation, as over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from service.graphql.auth import Identity, identify, payload_token, request_token
from service.graphql.context import Context, Services
from service.logging import log

FORBIDDEN = 4403
"""Close code of a refused ``connection_init`` (a token that names nobody, too many
connections) and of a socket whose session signed out."""


INTERNAL_ERROR = 4500
"""graphql-ws's close code for a failure of the server's own."""


class SocketRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(eq=False)
class SocketConnection:
    """What strawberry keeps for one WebSocket. Every operation on it gets a ``Context`` of its
    own (``operation_context``), with its own database session and loaders."""

    websocket: WebSocket
    services: Services
    sessionmaker: async_sessionmaker[AsyncSession]
    request_id: str
    connection_params: dict[str, Any] = field(default_factory=dict)
    """The ``connection_init`` payload (strawberry sets it)."""
    identity: Identity = field(default_factory=Identity)
    lease: tuple[str, str] | None = None
    """(owner, lease id) of its place among the owner's connections."""

    def operation_context(self) -> Context:
        identity = self.identity
        return Context(
            request=self.websocket,
            response=self.websocket,
            session=self.sessionmaker(),
            services=self.services,
            request_id=self.request_id,
            viewer=identity.viewer,
            api_key=identity.api_key,
            bearer_token=identity.token,
            session_id=identity.session_id,
        )

    @property
    def owner(self) -> tuple[str, int]:
        """Whose connection this is, and how many such connections are allowed."""
        settings = self.services.settings
        if self.identity.known:
            return self.identity.key, settings.ws_max_connections_per_account
        client = self.websocket.client
        address = client.host if client else "unknown"
        return f"address:{address}", settings.ws_max_connections_per_address

    async def admit(self, sockets: OpenSockets) -> None:
        """Authenticate and take a place; ``SocketRefused`` when either fails."""
        explicit = payload_token(self.connection_params)
        token = explicit or request_token(self.websocket.headers, self.websocket.cookies)
        async with self.sessionmaker() as session:
            self.identity = await identify(session, token)
        if explicit and not self.identity.known:
            raise SocketRefused(FORBIDDEN, "Forbidden: the token is not valid; sign in again.")
        if token and not self.identity.known:  # a stale cookie: carry on as a visitor
            self.identity = Identity()
        owner, limit = self.owner
        lease = await self.services.leases.acquire(owner, limit)
        if lease is None:
            kind = owner.split(":")[0]
            raise SocketRefused(
                FORBIDDEN, f"Forbidden: at most {limit} open connections per {kind}."
            )
        self.lease = (owner, lease)
        sockets.add(self)
        self.services.metrics.websockets.inc()

    async def release(self, sockets: OpenSockets) -> None:
        sockets.discard(self)
        if self.lease is not None:
            owner, lease = self.lease
            self.lease = None
            self.services.metrics.websockets.dec()
            await self.services.leases.release(owner, lease)


class OpenSockets:
    """This process's admitted sockets by account session, to close on sign-out."""

    def __init__(self) -> None:
        self.by_session: dict[int, set[SocketConnection]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, connection: SocketConnection) -> None:
        session_id = connection.identity.session_id
        if session_id is not None:
            self.by_session.setdefault(session_id, set()).add(connection)

    def discard(self, connection: SocketConnection) -> None:
        session_id = connection.identity.session_id
        sockets = self.by_session.get(session_id) if session_id is not None else None
        if sockets is not None:
            sockets.discard(connection)
            if not sockets:
                del self.by_session[session_id]  # type: ignore[arg-type]

    def session_ended(self, session_id: int) -> None:
        for connection in self.by_session.pop(session_id, set()):
            log.info("live.socket_signed_out", session_id=session_id)
            task = asyncio.create_task(connection.websocket.close(FORBIDDEN, "Signed out."))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


class TextFrames(ASGIWebSocketAdapter):
    """Messages as text frames: browsers' graphql-ws clients parse ``event.data`` as a string,
    and strawberry would send our orjson bytes as binary frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLTransportWS(BaseGraphQLTransportWSHandler[SocketConnection, None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefused as refused:
            await self._close(refused.code, refused.reason)
        except WebSocketDisconnected:
            # The client left mid-handshake (a page navigated away): nothing to acknowledge,
            # nothing to close, nothing failed.
            return
        except Exception:  # the database or Redis is away: the client may try again later
            log.exception("live.connection_init_failed")
            await self._close(INTERNAL_ERROR, "Internal server error.")

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(WebSocketDisconnected):  # the client is already gone
            await self.websocket.close(code=code, reason=reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.context.services.settings.ws_max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = GraphQLError(
                f"At most {limit} operations at once per connection; complete one first.",
                extensions={"code": "RATE_LIMITED"},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


async def per_operation(stream: StreamResult, context: Context) -> StreamResult:
    """The results of ``stream`` (run with ``context``); between results the context gives its
    database connection back and forgets its cached rows, so that a subscription waiting for
    its next message holds no connection and never answers from stale loader values."""
    try:
        async for result in stream:
            yield result
            await context.renew()
    finally:
        await stream.aclose()
        await context.session.close()
