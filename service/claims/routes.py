"""``GET /auth/orcid/callback``: where ORCID sends the browser back after sign-in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service.claims.models import ClaimStatus
from service.claims.service import claims
from service.config import Settings
from service.db.session import begin_writing
from service.errors import ServiceError
from service.logging import log


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title>"
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
    )
    return HTMLResponse(body, status_code=status)


def orcid_callback(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> Callable[[Request], Awaitable[Response]]:
    async def callback(request: Request) -> Response:
        code = request.query_params.get("code")
        state = request.query_params.get("state")
        if not code or not state:
            error = request.query_params.get("error_description") or "The sign-in was cancelled."
            return _page("Claim not completed", error, 400)
        async with sessionmaker() as session:
            try:
                await begin_writing(session)
                claim = await claims.complete_orcid(session, settings, state, code)
                await session.commit()
            except ServiceError as exc:
                await session.rollback()
                status = 503 if exc.code == "SERVICE_UNAVAILABLE" else 400
                return _page("Claim not completed", exc.message, status)
            except Exception:
                log.exception("orcid.callback.failed")
                return _page("Claim not completed", "Something went wrong; try again.", 500)
        if claim.status is ClaimStatus.VERIFIED:
            return _page(
                "Claim verified", "Your ORCID iD matches this record: it is yours now.", 200
            )
        return _page("Claim rejected", "The ORCID iD you signed in with is not this record's.", 403)

    return callback
