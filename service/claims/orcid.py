"""ORCID sign-in (OAuth 2 authorization code, scope ``/authenticate``). The endpoints hang off
``BZPEER_ORCID_BASE_URL``, so that tests run a server of their own on loopback."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import ssl
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import Response

from service.config import Settings
from service.errors import BadUserInput, ServiceError

CALLBACK_PATH = "/auth/orcid/callback"
STATE_COOKIE = "bzpeer_orcid_state"


class OrcidUnavailable(ServiceError):
    """Raised when ORCID's token endpoint cannot be reached or answers nonsense."""

    code = "SERVICE_UNAVAILABLE"


def state_lifetime(settings: Settings) -> dt.timedelta:
    """The ``state`` names a claim to whoever holds it: it lives minutes, not hours."""
    return dt.timedelta(minutes=settings.orcid_state_ttl_minutes)


def set_state_cookie(response: Response, state: str, settings: Settings) -> None:
    """Keep the ``state`` in the browser that asked for it, sent back only to the callback:
    the callback completes a claim only there (or for a browser signed in as the claimant),
    so an authorize URL opened in anyone else's browser completes nothing."""
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=settings.orcid_state_ttl_minutes * 60,
        httponly=True,
        samesite="lax",  # sent on ORCID's top-level redirect back here
        secure=settings.public_url.startswith("https://"),
        path=CALLBACK_PATH,
    )


def started_here(request: Request, state: str) -> bool:
    """Whether this browser holds the state cookie of ``state``."""
    held = request.cookies.get(STATE_COOKIE, "")
    return bool(held) and hmac.compare_digest(held.encode(), state.encode())


def redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def authorize_url(settings: Settings, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.orcid_client_id,
            "response_type": "code",
            "scope": "/authenticate",
            "redirect_uri": redirect_uri(settings),
            "state": state,
        }
    )
    return f"{settings.orcid_base_url.rstrip('/')}/oauth/authorize?{query}"


@functools.cache
def _tls() -> ssl.SSLContext:
    """Built once: a new context reads the whole CA bundle, 30-60 ms of CPU that would block
    the event loop on every sign-in."""
    return httpx.create_ssl_context()


async def exchange_code(settings: Settings, code: str) -> str:
    """The ORCID iD of whoever signed in and granted ``code``."""
    try:
        async with httpx.AsyncClient(timeout=10, verify=_tls()) as client:
            response = await client.post(
                f"{settings.orcid_base_url.rstrip('/')}/oauth/token",
                data={
                    "client_id": settings.orcid_client_id,
                    "client_secret": settings.orcid_client_secret,
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri(settings),
                },
                headers={"Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise OrcidUnavailable("ORCID could not be reached; try again.") from exc
    if response.status_code in (400, 401):
        raise BadUserInput("ORCID did not accept this sign-in; start the claim again.")
    if response.status_code != 200:
        raise OrcidUnavailable("ORCID answered with an error; try again.")
    orcid = response.json().get("orcid")
    if not isinstance(orcid, str):
        raise OrcidUnavailable("ORCID's answer carried no iD.")
    return orcid
