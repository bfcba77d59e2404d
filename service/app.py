"""``create_app()``: the Starlette application with ``/graphql``, ``/healthz``, ``/readyz``,
``/metrics`` and the web front's pages (``service/web``)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import TypedDict

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from service.accounts.secrets import Passwords
from service.claims import orcid
from service.claims.routes import orcid_callback
from service.config import Settings, get_settings
from service.db.engine import create_engine, create_sessionmaker
from service.documents import operation_names
from service.events.service import events
from service.graphql.auth import bearer_token
from service.graphql.context import Services
from service.graphql.plans import Plans
from service.graphql.response_cache import ResponseCache
from service.graphql.schema import PLANS, create_schema
from service.graphql.view import GraphQLView
from service.heap import freeze_startup_objects
from service.live.setup import create_live
from service.logging import configure_logging, log
from service.mail.mailer import create_mailer
from service.metrics import Metrics
from service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from service.ratelimit import create_rate_limiter
from service.static.graphiql_page import ASSETS_PATH, GraphiQLAssets
from service.web.routes import web_routes

READY_TIMEOUT_SECONDS = 2.0


class State(TypedDict):
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    metrics: Metrics


def metrics_allowed(request: Request, settings: Settings) -> bool:
    """``/metrics`` is for the operator's scraper, not the public: the configured bearer token,
    else (in development only) a client on loopback. A 404 otherwise, as if it were not there."""
    if settings.metrics_token:
        given = bearer_token(request.headers.get("authorization")) or ""
        return hmac.compare_digest(given.encode(), settings.metrics_token.encode())
    client = request.client.host if request.client else ""
    try:
        on_loopback = ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False
    return settings.debug and on_loopback


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    metrics = Metrics(known_operations=operation_names())
    metrics.watch_pool(engine)
    live = create_live(settings, sessionmaker)
    services = Services(
        settings=settings,
        metrics=metrics,
        passwords=Passwords(settings),
        mailer=create_mailer(settings),
        rate_limiter=create_rate_limiter(settings),
        live=live.hub,
        publisher=live.publisher,
        leases=live.leases,
    )
    view = GraphQLView(
        create_schema(settings),
        services=services,
        sessionmaker=sessionmaker,
        plans=Plans(PLANS),
        cache=ResponseCache(
            live.versions, settings.response_cache_entries, settings.response_cache_ttl_s
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        await live.start()
        embedded = None
        if settings.in_process_workers:
            from workers.process import EmbeddedWorkers

            embedded = await asyncio.to_thread(EmbeddedWorkers, settings, live.publisher)
        if settings.freeze_startup_objects:
            freeze_startup_objects()
        try:
            yield {"engine": engine, "sessionmaker": sessionmaker, "metrics": metrics}
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.close)
            await live.close()
            await engine.dispose()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason goes to the body
            return JSONResponse(
                {"status": "unavailable", "database": type(exc).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics_endpoint(request: Request) -> Response:
        if not metrics_allowed(request, settings):
            return JSONResponse({"error": "not found"}, status_code=404)
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), sessionmaker() as session:
                backlog = await events.backlog(session)
            for state, value in asdict(backlog).items():
                metrics.events.labels(state).set(value)
        except Exception:  # the database's own health shows in /readyz; keep serving the rest
            log.warning("metrics.backlog_unavailable", exc_info=True)
        metrics.live_watched.set(live.hub.watched)
        metrics.live_pubsub_connections.set(live.hub.connections)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route(orcid.CALLBACK_PATH, orcid_callback(settings, sessionmaker)),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *web_routes(),
    ]
    if settings.debug:  # GraphiQL's files, only where the view serves GraphiQL
        routes.append(Mount(ASSETS_PATH, app=GraphiQLAssets(), name="graphiql-assets"))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestContextMiddleware, metrics=metrics),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine  # for operators' tooling and tests that count statements
    app.state.live = live.hub
    return app
