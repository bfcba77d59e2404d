"""The ``/graphql`` endpoint: strawberry's ASGI view with our context, orjson, and JSON errors
(with a code) where strawberry would answer in plain text. Over HTTP one database session per
request; over WebSocket (``service/graphql/socket.py``) one per operation."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, cast

import orjson
from cross_web import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from service.graphql.auth import identify, request_token
from service.graphql.context import Context, Services
from service.graphql.plans import Plans
from service.graphql.response_cache import ResponseCache
from service.graphql.schema import Schema
from service.graphql.socket import GraphQLTransportWS, OpenSockets, SocketConnection, TextFrames
from service.static.graphiql_page import graphiql_page

HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
SOCKET_STATE = "socket_connection"
GRAPHQL_RESPONSE = "application/graphql-response+json"
"""GraphQL over HTTP's own media type: a request that accepts it gets it, and a request error
(parse, validation, variable coercion, a limit: nothing executed) answers 400 without data."""
_accepts_graphql_response: ContextVar[bool] = ContextVar("accepts_graphql_response", default=False)
_cacheable: ContextVar[bool] = ContextVar("cacheable", default=False)
"""Only an anonymous GET may be kept by caches: everything else may carry a token or what one
account may see (``Cache-Control: no-store``)."""


def accepts_graphql_response(accept: str) -> bool:
    """Whether the Accept header lists ``application/graphql-response+json`` (not at q=0)."""
    for part in accept.split(","):
        media, *parameters = (p.strip() for p in part.split(";"))
        if media.lower() != GRAPHQL_RESPONSE:
            continue
        weights = [p.split("=", 1)[1] for p in parameters if p.replace(" ", "").startswith("q=")]
        try:
            return not weights or float(weights[0]) > 0
        except ValueError:
            return False
    return False


def _is_request_error(result: Any) -> bool:
    """Nothing executed: no data, and no error belongs to a field (none has a path)."""
    return (
        isinstance(result, dict)
        and result.get("data") is None
        and bool(result.get("errors"))
        and not any(error.get("path") for error in result["errors"])
    )


def error_response(status: int, message: str, code: str, **extensions: Any) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class GraphQLView(GraphQL[Any, None]):
    # graphql-transport-ws only: the legacy subscriptions-transport-ws protocol is unmaintained
    # and has no acknowledged-init or duplicate-id rules.
    graphql_transport_ws_handler_class = GraphQLTransportWS
    websocket_adapter_class = TextFrames

    def __init__(
        self,
        schema: Schema,
        *,
        services: Services,
        sessionmaker: async_sessionmaker[AsyncSession],
        plans: Plans | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        settings = services.settings
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.debug else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_s),
            max_subscriptions_per_connection=None,  # GraphQLTransportWS caps, with a code
            allowed_origins=settings.frontend_origins,
        )
        self.services = services
        self.sessionmaker = sessionmaker
        self.plans = plans or Plans(())
        self.cache = cache
        self.sockets = OpenSockets()
        services.live.session_listeners.add(self.sockets.session_ended)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                connection = scope.get("state", {}).pop(SOCKET_STATE, None)
                if connection is not None:
                    await connection.release(self.sockets)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        _accepts_graphql_response.set(accepts_graphql_response(request.headers.get("accept", "")))
        _cacheable.set(
            request.method == "GET" and request_token(request.headers, request.cookies) is None
        )
        async with self.sessionmaker() as session:
            scope.setdefault("state", {})["db_session"] = session
            try:
                response = await self.run(request)
            except HTTPException as exc:
                reason = exc.reason
                if reason.startswith("subscriptions are not allowed"):
                    reason += "; subscribe over the WebSocket at /graphql (graphql-transport-ws)"
                response = error_response(
                    exc.status_code, reason, HTTP_ERROR_CODES.get(exc.status_code, "BAD_REQUEST")
                )
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page, not strawberry's: it loads GraphiQL from this origin, not from unpkg.
        return graphiql_page(request.scope.get("root_path", ""))

    async def get_context(
        self, request: Request | WebSocket, response: Any
    ) -> Context | SocketConnection:
        state = request.scope.setdefault("state", {})
        if isinstance(request, WebSocket):
            connection = SocketConnection(
                websocket=request,
                services=self.services,
                sessionmaker=self.sessionmaker,
                request_id=state.get("request_id") or uuid.uuid4().hex,
            )
            state[SOCKET_STATE] = connection
            return connection
        session = state["db_session"]
        identity = await identify(session, request_token(request.headers, request.cookies))
        return Context(
            request=request,
            response=response,
            session=session,
            services=self.services,
            request_id=state.get("request_id", ""),
            viewer=identity.viewer,
            api_key=identity.api_key,
            bearer_token=identity.token,
            session_id=identity.session_id,
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """An anonymous read of a cached document may be answered from the response cache
        (``response_cache.py``); a document with a compiled plan (``plans.py``) is answered by
        its plan once the general path has admitted it; everything else, and whatever a plan
        declines, runs through GraphQL execution."""
        plan, variables, ticket = None, None, None
        if isinstance(request_data, GraphQLRequestData) and request_data.protocol == "http":
            query, operation = request_data.query, request_data.operation_name
            plan = self.plans.match(query, operation)
            variables = request_data.variables
            key = None
            if self.cache is not None and anonymous(context):
                key = self.cache.key(query, operation, variables)
            if self.cache is not None and key is not None:
                cached = await self.cache.get(key)
                if cached is not None:
                    return answered_from_cache(context, operation, cached)
                ticket = await self.cache.ticket(key)
        result: Any = None
        if plan is not None and self.plans.admitted(plan, variables):
            result = await self.plans.run(plan, context, variables)
        if result is None:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
            if plan is not None and isinstance(result, ExecutionResult):
                self.plans.admit(plan, variables, result)
        if (
            self.cache is not None
            and ticket is not None
            and context.cacheable
            and isinstance(result, ExecutionResult)
            and result.data is not None
            and not result.errors
        ):
            await self.cache.put(ticket, result.data, context.cache_tags)
        return result

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        connection: SocketConnection = context
        await connection.admit(self.sockets)
        unset: UnsetType = UNSET  # a plain ack, no payload
        return unset

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if not _cacheable.get():
            response.headers["cache-control"] = "no-store"
        if not _accepts_graphql_response.get():
            return response
        response.headers["content-type"] = GRAPHQL_RESPONSE
        if _is_request_error(response_data):
            body = {k: v for k, v in response_data.items() if k != "data"}
            response.body = self.encode_json(body)
            response.headers["content-length"] = str(len(response.body))
            response.status_code = 400
        return response

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses nesting past 1,024 levels with a JSONDecodeError (a 400); the
        # standard library's decoder recursed until RecursionError (a 500).
        return orjson.loads(data)


def anonymous(context: Context) -> bool:
    """No credentials at all: what a signed-in viewer or an integrator sees may differ."""
    return context.bearer_token is None and context.viewer is None and context.api_key is None


def answered_from_cache(context: Context, operation: str | None, data: bytes) -> ExecutionResult:
    """``data`` is JSON already: ``encode_json`` (orjson) writes a Fragment as it is."""
    metrics = context.metrics
    label = metrics.operation_label(operation)
    metrics.operations.labels(operation=label, type="query").inc()
    metrics.cached_answers.labels(operation=label).inc()
    context.request.scope.setdefault("state", {})["operation_name"] = label
    return ExecutionResult(data=cast(dict[str, Any], orjson.Fragment(data)), errors=None)
