"""The ``/graphql`` endpoint: strawberry's ASGI view with our context, orjson, and JSON errors
(with a code) where strawberry would answer in plain text."""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from service.accounts.service import API_KEY_PREFIX, accounts
from service.graphql.context import Context, Services
from service.graphql.schema import Schema

HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(status: int, message: str, code: str, **extensions: Any) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 0 < len(token) <= 200 else None


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        services: Services,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if services.settings.debug else None,
            allow_queries_via_get=True,
        )
        self.services = services
        self.sessionmaker = sessionmaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # No subscriptions yet (live updates are their own issue): refuse with the close
            # code graphql-transport-ws uses for "no acceptable subprotocol".
            websocket = WebSocket(scope, receive=receive, send=send)
            await websocket.accept()
            await websocket.close(4406, "Subscriptions are not available yet.")
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        async with self.sessionmaker() as session:
            scope.setdefault("state", {})["db_session"] = session
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = error_response(
                    exc.status_code,
                    exc.reason,
                    HTTP_ERROR_CODES.get(exc.status_code, "BAD_REQUEST"),
                )
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        session = request.scope["state"]["db_session"]
        context = Context(
            request=request,
            response=response,
            session=session,
            services=self.services,
            request_id=request.scope["state"].get("request_id", ""),
        )
        token = bearer_token(request.headers.get("authorization"))
        if token:
            context.bearer_token = token
            if token.startswith(API_KEY_PREFIX):
                context.api_key = await accounts.authenticate_api_key(session, token)
            else:
                context.viewer = await accounts.authenticate(session, token)
        return context

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
