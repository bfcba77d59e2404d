"""Real servers on loopback that stand in for the outside services the product talks to: an SMTP
server (aiosmtpd) that keeps what it receives, and an OAuth 2 server that behaves as ORCID's
authorization-code flow does."""

from __future__ import annotations

import contextlib
import email
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support import LiveServer, reserved_port, serve


class MailTrap:
    """Collects every message delivered to it."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, to: str, subject: str, timeout: float = 10) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in reversed(self.messages):
                    if message["To"] == to and subject in str(message["Subject"]):
                        return message
            time.sleep(0.02)
        raise AssertionError(f"no mail to {to} about {subject!r}")

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


def code_in(message: Message) -> str:
    """The one-time code a mail carries (``... code: <token>``)."""
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"code: (\S+)", body.decode())
    assert found, body
    return found.group(1)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[MailTrap, str]]:
    trap = MailTrap()
    with reserved_port() as port:
        controller = Controller(trap, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            yield trap, f"smtp://127.0.0.1:{port}"
        finally:
            controller.stop()


@dataclass
class OrcidServer:
    """The ORCID OAuth endpoints: ``/oauth/authorize`` signs in as ``signed_in`` (what a person
    would do on ORCID's page) and redirects back with a code; ``/oauth/token`` trades the code
    for the iD, checking client credentials and redirect URI as ORCID does."""

    client_id: str = "APP-BZPEERTEST0001"
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    signed_in: str = "0000-0002-1825-0097"
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    base_url: str = ""

    def app(self) -> Starlette:
        async def authorize(request: Request) -> Response:
            q = request.query_params
            if q.get("client_id") != self.client_id or q.get("response_type") != "code":
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            code = secrets.token_urlsafe(8)
            self.codes[code] = (self.signed_in, q["redirect_uri"])
            query = urlencode({"code": code, "state": q.get("state", "")})
            return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            entry = self.codes.pop(str(form.get("code")), None)
            if entry is None or entry[1] != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(
                {
                    "access_token": secrets.token_hex(8),
                    "token_type": "bearer",
                    "scope": "/authenticate",
                    "orcid": entry[0],
                    "name": "Test Person",
                }
            )

        return Starlette(
            routes=[
                Route("/oauth/authorize", authorize),
                Route("/oauth/token", token, methods=["POST"]),
            ]
        )


@contextlib.contextmanager
def orcid_server() -> Iterator[OrcidServer]:
    orcid = OrcidServer()
    with serve(orcid.app()) as server:
        orcid.base_url = server.base_url
        yield orcid


__all__ = ["LiveServer", "MailTrap", "OrcidServer", "code_in", "orcid_server", "smtp_server"]
