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

from service.config import Settings
from service.graphql.context import Context
from service.graphql.schema import Schema
from service.metrics import Metrics

HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(status: int, message: str, code: str, **extensions: Any) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: Metrics,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.debug else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        context = Context(
            request=request,
            response=response,
            session=request.scope["state"]["db_session"],
            settings=self.settings,
            request_id=request.scope["state"].get("request_id", ""),
            metrics=self.metrics,
        )
        return context

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
