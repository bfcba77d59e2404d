"""How the pages and their files are served: one shell for every page path with a policy that
allows this origin only, assets under a content-hashed path (a year's cache, gzip), the client
documents exactly as the repository keeps them, and the size budget of what a first visit
downloads."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from service.documents import document, document_names
from service.web.routes import PAGE_PATHS, WebFront
from tests.support import LiveServer, http_get

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ASSET_BUDGET_BYTES = 150 * 1024
MODULE = re.compile(
    r'<(?:script type="module" src|link rel="(?:modulepreload|stylesheet)" href)="([^"]+)"'
)


def page_paths() -> list[str]:
    return [path.replace("{id:path}", "UmVzZWFyY2hlcjoz") for path in PAGE_PATHS]


def test_every_page_path_answers_the_shell_with_its_policy(demo_server: LiveServer) -> None:
    with demo_server.client() as client:
        shells = set()
        for path in page_paths():
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-content-type-options"] == "nosniff"
            policy = response.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "connect-src 'self'" in policy
            assert "frame-ancestors 'none'" in policy and "trusted-types 'none'" in policy
            shells.add(response.text)
        assert len(shells) == 1
        assert client.get("/no-such-page").status_code == 404


def test_assets_are_hashed_cached_and_gzipped(demo_server: LiveServer) -> None:
    front = WebFront()
    with demo_server.client() as client:
        shell = client.get("/").text
        urls = MODULE.findall(shell)
        assert f"{front.prefix}app.js" in urls and f"{front.prefix}style.css" in urls
        for url in urls:
            plain = client.get(url, headers={"accept-encoding": "identity"})
            assert plain.status_code == 200, url
            assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert "content-encoding" not in plain.headers
            zipped = client.get(url, headers={"accept-encoding": "gzip"})
            if len(plain.content) >= 512:
                assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.content == plain.content  # httpx decodes: the same bytes
        # An old page asking for a replaced version, or anything outside the folder: 404,
        # never cached.
        old = client.get("/assets/000000000000/app.js")
        assert old.status_code == 404 and old.headers["cache-control"] == "no-store"
        for name in ("..%2Froutes.py", "%2E%2E/routes.py", "index.html", "missing.js"):
            assert client.get(f"{front.prefix}{name}").status_code == 404, name


def test_the_documents_module_holds_the_repository_documents_as_they_are(
    demo_server: LiveServer,
) -> None:
    module = http_get(f"{demo_server.base_url}{WebFront().prefix}documents.js").text
    exported = {
        name: json.loads(text)
        for name, text in re.findall(r"^export const (\w+) = (.*);$", module, re.MULTILINE)
    }
    assert exported == {name.removesuffix(".graphql"): document(name) for name in document_names()}


def test_a_first_visit_downloads_under_the_budget(demo_server: LiveServer) -> None:
    """The shell and every file it names, compressed as a browser asks for them."""
    with demo_server.client(headers={"accept-encoding": "gzip"}) as client:
        shell = client.get("/")
        total = len(gzip.compress(shell.content))
        for url in set(MODULE.findall(shell.text)):
            response = client.get(url)
            raw = response.headers.get("content-length")
            assert raw is not None
            total += int(raw)
    print(f"first visit: {total / 1024:.1f} KiB compressed")
    assert total < ASSET_BUDGET_BYTES
