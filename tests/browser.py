"""Driving Debian's Chromium (``apt-get install chromium``) with Playwright, for the tests of the
pages the service serves (GraphiQL, the web front). It never downloads a browser of its own, and a
context made with ``loopback_only`` refuses (and lists) every request that is not to the server
under test, so a page that needs the network fails its test."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, WebSocketRoute, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# The flags the machine's own browser checks use: no background requests to Google's hosts,
# which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
            "(apt-get install chromium); it never downloads a browser of its own",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


def loopback_only(context: BrowserContext, base_url: str, also: Sequence[str] = ()) -> list[str]:
    """Lets the context reach the server at ``base_url`` (and those at ``also``) only. Every
    other request and WebSocket is refused and its URL appended to the list returned."""
    servers = [(parts.hostname, parts.port) for parts in map(urlsplit, [base_url, *also])]
    refused: list[str] = []

    def ours(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "ws") and (parts.hostname, parts.port) in servers

    def request(route: Route) -> None:
        if ours(route.request.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("blockedbyclient")

    def websocket(route: WebSocketRoute) -> None:
        if ours(route.url):
            route.connect_to_server()
        else:
            refused.append(route.url)
            route.close()

    context.route("**/*", request)
    context.route_web_socket(re.compile(".*"), websocket)
    return refused


@contextlib.contextmanager
def explained(refused: list[str], errors: list[str]) -> Iterator[None]:
    """A failed check says what the browser was refused and what the page logged."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nrefused requests: {refused}\nbrowser errors: {errors}"
        ) from error
