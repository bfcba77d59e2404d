"""The GraphiQL page and the route of the pinned assets it loads (``graphiql/README.md``): every
file the page needs comes from the service's own origin, so GraphiQL works offline."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from functools import cache
from os import PathLike
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["ASSETS_DIR", "ASSETS_PATH", "GraphiQLAssets", "graphiql_page"]

HERE = Path(__file__).resolve().parent
ASSETS_DIR = HERE / "graphiql"
ASSETS_PATH = "/static/graphiql"
"""Where ``create_app`` mounts ``ASSETS_DIR``, relative to the app's root path."""
TEMPLATE = HERE / "graphiql_page.html"
# Each asset folder names its package version, so a file's URL never gets other bytes.
IMMUTABLE = "public, max-age=31536000, immutable"


class GraphiQLAssets(StaticFiles):
    """The asset folder, with a year-long cache."""

    def __init__(self) -> None:
        super().__init__(directory=ASSETS_DIR)

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = IMMUTABLE
        return response


@cache
def _template() -> tuple[str, str]:
    """The page template and the Content-Security-Policy for it: scripts only from this origin
    plus the one inline script (by hash), no requests to any other origin."""
    html = TEMPLATE.read_text()
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    if len(inline) != 1:
        raise RuntimeError(f"{TEMPLATE.name} must have exactly one inline script")
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'sha256-{digest}'",
            # The page's <style>, and the style elements and attributes GraphiQL's libraries
            # add; GraphiQL's fonts are data: URIs inside its CSS.
            "style-src 'self' 'unsafe-inline'",
            "font-src data:",
            "img-src 'self' data:",
            "connect-src 'self'",  # /graphql over HTTP, and (CSP 3) ws: to the same host
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return html, policy


def graphiql_page(root_path: str) -> HTMLResponse:
    """The page for an app mounted at ``root_path`` (``""`` at ``/``)."""
    html, policy = _template()
    body = html.replace("{{ASSETS}}", root_path.rstrip("/") + ASSETS_PATH)
    return HTMLResponse(body, headers={"content-security-policy": policy})
