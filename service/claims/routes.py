"""``GET /auth/orcid/callback``: where ORCID sends the browser back after sign-in. A completed
claim (verified or rejected) returns the browser to the record's profile page, which says how it
went; a claim that could not be completed gets a page saying why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.accounts.cookies import SESSION_COOKIE
from service.claims import orcid
from service.claims.models import ClaimStatus
from service.claims.service import claims
from service.config import Settings
from service.db.session import begin_writing
from service.errors import ServiceError
from service.graphql.auth import identify
from service.graphql.relay import to_global_id
from service.logging import log


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title>"
        f'<h1>{escape(title)}</h1><p>{escape(text)}</p><p><a href="/">Back to BZPEER</a></p>'
    )
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


STATUS_OF = {"SERVICE_UNAVAILABLE": 503, "FORBIDDEN": 403}


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
                browser = await identify(session, request.cookies.get(SESSION_COOKIE))
                claim = await claims.complete_orcid(
                    session,
                    settings,
                    state,
                    code,
                    started_here=orcid.started_here(request, state),
                    browser_account_id=browser.viewer.id if browser.viewer else None,
                )
                await session.commit()
            except ServiceError as exc:
                await session.rollback()
                status = STATUS_OF.get(exc.code, 400)
                return _page("Claim not completed", exc.message, status)
            except Exception:
                log.exception("orcid.callback.failed")
                return _page("Claim not completed", "Something went wrong; try again.", 500)
        outcome = "verified" if claim.status is ClaimStatus.VERIFIED else "rejected"
        log.info("orcid.callback.completed", claim_id=claim.id, outcome=outcome)
        profile = quote(to_global_id("Researcher", claim.researcher_id), safe="")
        return RedirectResponse(
            f"/researchers/{profile}?claim={outcome}",
            status_code=303,
            headers={"cache-control": "no-store"},
        )

    return callback
