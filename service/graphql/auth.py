"""Who is asking: a session token or an API key, from the Authorization header, the session
cookie or a WebSocket's ``connection_init`` payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.cookies import SESSION_COOKIE
from service.accounts.models import Account, ApiKey
from service.accounts.service import API_KEY_PREFIX, accounts

MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Identity:
    token: str | None = None
    viewer: Account | None = None
    api_key: ApiKey | None = None
    session_id: int | None = None
    """The account session of ``viewer`` (what signing out ends)."""

    @property
    def known(self) -> bool:
        return self.viewer is not None or self.api_key is not None

    @property
    def key(self) -> str:
        """Who asks, for sharing work between requests of the same asker."""
        if self.viewer is not None:
            return f"account:{self.viewer.id}"
        if self.api_key is not None:
            return f"key:{self.api_key.id}"
        return "anonymous"


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 0 < len(token) <= MAX_TOKEN_LENGTH else None


def request_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The Authorization header's bearer token, else the session cookie."""
    cookie = cookies.get(SESSION_COOKIE, "")
    return bearer_token(headers.get("authorization")) or (
        cookie if 0 < len(cookie) <= MAX_TOKEN_LENGTH else None
    )


def payload_token(payload: Mapping[str, object]) -> str | None:
    """A token in a ``connection_init`` payload: ``{"token": "..."}`` or, as many clients send
    it, ``{"authorization": "Bearer ..."}`` (any capitalisation of the key)."""
    for key, value in payload.items():
        if not isinstance(value, str):
            continue
        if key == "token" and 0 < len(value) <= MAX_TOKEN_LENGTH:
            return value
        if key.lower() == "authorization":
            return bearer_token(value)
    return None


async def identify(session: AsyncSession, token: str | None) -> Identity:
    """The account or key behind ``token``; an unknown, expired or revoked token names
    nobody."""
    if not token:
        return Identity()
    if token.startswith(API_KEY_PREFIX):
        return Identity(token, api_key=await accounts.authenticate_api_key(session, token))
    signed_in = await accounts.authenticate(session, token)
    if signed_in is None:
        return Identity(token)
    return Identity(token, viewer=signed_in.account, session_id=signed_in.session_id)
