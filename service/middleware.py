"""Pure ASGI middleware (``BaseHTTPMiddleware`` would break context variables): request ids with
one structured log line per request, a body size cap, and a last-resort JSON error."""

from __future__ import annotations

import re
import time
import uuid

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logging import log
from service.metrics import Metrics

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _json_error(message: str, code: str, request_id: str | None = None) -> Message:
    extensions = {"code": code} | ({"requestId": request_id} if request_id else {})
    return {
        "type": "http.response.body",
        "body": orjson.dumps({"errors": [{"message": message, "extensions": extensions}]}),
    }


async def _send_json_error(
    send: Send, status: int, message: str, code: str, request_id: str | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send(_json_error(message, code, request_id))


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID`` when the client sent a sane one), binds it to
    the logs, writes one line per request, counts it, and turns an exception that escaped
    everything else into a JSON error instead of a stack trace."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 0
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request.failed", path=scope.get("path"))
            if scope["type"] == "http" and not response_started:
                status = 500
                await _send_json_error(
                    send_with_id, 500, "Internal server error.", "INTERNAL_SERVER_ERROR", request_id
                )
        finally:
            if scope["type"] == "http":
                path = scope.get("path", "")
                self.metrics.http_requests.labels(
                    path=path
                    if path in ("/graphql", "/healthz", "/readyz", "/metrics")
                    else "other",
                    status=str(status),
                ).inc()
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    operation=state.get("operation_name"),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodySizeLimitMiddleware:
    """Answers 413 to a request body over ``max_bytes``, whether or not it declares its length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        # Read the (bounded) body up front, then hand it on: a streamed body cannot overrun.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        await _send_json_error(
            send, 413, f"Request body larger than {self.max_bytes} bytes.", "PAYLOAD_TOO_LARGE"
        )
