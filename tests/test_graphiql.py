"""GraphiQL works offline: the page and every file it loads come from the service's own origin.

The browser test drives Debian's Chromium (``apt-get install chromium``) with Playwright, and the
browser context refuses (and lists) every request that is not to the server's loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import (
    Browser,
    expect,
)

from service.app import create_app
from tests.browser import TIMEOUT_MS, explained, loopback_only
from tests.browser import browser as browser  # the fixture
from tests.support import LiveServer, contract, serve, settings_for

HTML = {"accept": "text/html"}
ASSET = re.compile(r'(?:src|href)="([^"]+)"\s+integrity="(sha384-[^"]+)"')

# The page does not depend on the database: the embedded default (SQLite) is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_graphiql_runs_the_profile_query_offline(
    demo_server: LiveServer, seed_id: str, browser: Browser
) -> None:
    query = contract("profile_page.graphql")
    variables = {"id": seed_id}
    expected = demo_server.graphql(query, variables)
    assert expected["data"]["researcher"]["displayName"] == "Kaiyue Lu"

    context = browser.new_context(service_workers="block")
    try:
        refused = loopback_only(context, demo_server.base_url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        with explained(refused, errors):
            # ``q``, not ``query``: a GET with ``query`` runs the operation instead of the IDE.
            search = urlencode({"q": query, "variables": json.dumps(variables)})
            response = page.goto(f"{demo_server.base_url}/graphql?{search}")
            assert response is not None and response.ok
            assert response.headers["content-type"].startswith("text/html")

            editor = page.locator(".graphiql-query-editor .CodeMirror")
            expect(editor).to_be_visible(timeout=TIMEOUT_MS)
            expect(editor).to_contain_text("query ProfilePage", timeout=TIMEOUT_MS)
            page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()

            result = page.locator(".result-window")
            expect(result).to_contain_text('"displayName": "Kaiyue Lu"', timeout=TIMEOUT_MS)
            expect(result).to_contain_text('"score": 11', timeout=TIMEOUT_MS)
            shown = page.locator(".result-window .CodeMirror").evaluate(
                "element => element.CodeMirror.getValue()"
            )
            assert json.loads(shown) == expected
            assert refused == []
            assert errors == []
    finally:
        context.close()


def test_the_page_loads_only_pinned_files_of_this_origin(demo_server: LiveServer) -> None:
    with demo_server.client() as client:
        page = client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "://" not in page.text  # no address on another origin, inline or not
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self' 'sha256-" in policy

        assets = ASSET.findall(page.text)
        assert len(assets) == 6  # react, react-dom, graphiql (js, css), explorer (js, css)
        for path, integrity in assets:
            assert path.startswith("/static/graphiql/")
            asset = client.get(path)
            assert asset.status_code == 200, path
            assert "immutable" in asset.headers["cache-control"]
            digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert integrity == f"sha384-{digest}", path


def test_production_serves_no_graphiql(demo_url: str) -> None:
    settings = settings_for(demo_url, env="production", in_process_workers=False)
    with serve(create_app(settings)) as server, server.client() as client:
        page = client.get("/graphql", headers=HTML)
        assert not page.headers["content-type"].startswith("text/html")
        asset = client.get("/static/graphiql/react-18.2.0/react.production.min.js")
        assert asset.status_code == 404
