"""The web front's routes: one HTML shell for every page (the ES modules render the page from
``location``), the assets under a content-hashed path, and the client documents as a module.

Assets are read, hashed and gzipped once at startup; their URLs change with their bytes, so they
are cached for a year, while the shell is revalidated on every visit. The shell's
Content-Security-Policy allows the service's own origin only, and Trusted Types forbid every
HTML-parsing sink, so names and abstracts can only ever be text."""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from service.documents import document, document_names

__all__ = ["PAGE_PATHS", "WebFront", "web_routes"]

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
SHELL = "index.html"
ENTRY = "app.js"
STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\b[^;"]*?from\s*"\./([\w.-]+\.js)"', re.MULTILINE)
DOCUMENTS_MODULE = "documents.js"
IMMUTABLE = "public, max-age=31536000, immutable"
# Below this a gzip member costs more than it saves.
COMPRESS_FROM_BYTES = 512

PAGE_PATHS = [
    "/",
    "/search",
    "/researchers/{id:path}",
    "/explore/{id:path}",
    "/sign-in",
    "/sign-up",
    "/confirm-email",
    "/reset-password",
    "/verify-claim",
    "/invitations",
]
"""Every path that answers with the page shell; anything else stays a 404."""

POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # /graphql over HTTP, and (CSP 3) its WebSocket on this host
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
HEADERS = {
    "content-security-policy": POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str


def static_imports(entry: str, files: dict[str, bytes]) -> set[str]:
    """``entry`` and every module it imports statically, transitively: what the page needs
    before it runs, so the shell preloads exactly these at once instead of discovering them
    one import at a time. Dynamic ``import()`` (the pages visited less) is left to load later."""
    found: set[str] = set()
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        source = files[name].decode()
        pending += [target for target in STATIC_IMPORT.findall(source) if target in files]
    return found


def _documents_module() -> bytes:
    """``documents.js``: every client document's text, by file stem, exactly as the tests
    validate and the plans match it."""
    texts = {name.removesuffix(".graphql"): document(name) for name in document_names()}
    lines = ["// The client documents of service/documents, generated when the service starts."]
    lines += [f"export const {stem} = {json.dumps(text)};" for stem, text in texts.items()]
    return ("\n".join(lines) + "\n").encode()


def _asset(name: str, body: bytes) -> Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith(("javascript", "json", "svg+xml")):
        media_type += "; charset=utf-8"
    gzipped = gzip.compress(body, 9, mtime=0) if len(body) >= COMPRESS_FROM_BYTES else None
    return Asset(body, gzipped, media_type)


class WebFront:
    """The shell and the assets, loaded once."""

    def __init__(self) -> None:
        files = {
            path.relative_to(ASSETS_DIR).as_posix(): path.read_bytes()
            for path in sorted(ASSETS_DIR.rglob("*"))
            if path.is_file() and path.name != SHELL
        }
        files[DOCUMENTS_MODULE] = _documents_module()
        digest = hashlib.sha256()
        for name, body in files.items():
            digest.update(name.encode() + b"\0" + body + b"\0")
        self.version = digest.hexdigest()[:12]
        self.prefix = f"/assets/{self.version}/"
        self.assets = {name: _asset(name, body) for name, body in files.items()}
        preloads = "\n".join(
            f'<link rel="modulepreload" href="{self.prefix}{name}">'
            for name in sorted(static_imports(ENTRY, files))
        )
        shell = (ASSETS_DIR / SHELL).read_text()
        self.shell = shell.replace("{{ASSETS}}", self.prefix).replace("{{PRELOADS}}", preloads)

    async def page(self, _request: Request) -> Response:
        headers = HEADERS | {"cache-control": "no-cache"}
        return HTMLResponse(self.shell, headers=headers)

    async def asset(self, request: Request) -> Response:
        version = request.path_params["version"]
        asset = self.assets.get(request.path_params["name"])
        if asset is None or version != self.version:
            # An old page asking for assets that a deploy replaced: it must reload, not cache.
            return Response("not found", 404, headers={"cache-control": "no-store"})
        headers = {"cache-control": IMMUTABLE, "vary": "accept-encoding"} | HEADERS
        accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
        if asset.gzipped is not None and accepts_gzip:
            headers["content-encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)


def web_routes(front: WebFront | None = None) -> list[BaseRoute]:
    front = front or WebFront()
    routes: list[BaseRoute] = [Route(path, front.page) for path in PAGE_PATHS]
    routes.append(Route("/assets/{version}/{name:path}", front.asset))
    return routes
