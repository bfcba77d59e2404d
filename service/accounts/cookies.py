"""The session cookie: what a browser front-end authenticates with, over HTTP and when it opens
the WebSocket (browsers cannot set headers on a WebSocket handshake). HttpOnly, so scripts
cannot read the token; SameSite=Lax, so other sites' forms cannot send it; Secure when the
service is reached over HTTPS."""

from __future__ import annotations

from starlette.responses import Response

from service.config import Settings

SESSION_COOKIE = "bzpeer_session"


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_days * 86_400,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )
