"""Web page benchmark: the time from navigation to the seed profile's counters being visible in
a real browser, and the bytes it downloads, against the same page as static HTML.

What is measured, on the embedded default (``bzpeer serve``: SQLite, demo data, in-process
worker) with Debian's Chromium driven by Playwright:

- ``ours``: ``/researchers/<seed>``: the shell, its ES modules and stylesheet, then one GraphQL
  request (the profile page's document) rendered by the page's scripts;
- ``static``: the baseline, the same page's final markup (scripts removed, the same stylesheet)
  served as one HTML file by a bare Starlette on uvicorn: what the browser needs with no
  scripts, no API and no database.

Each navigation's time is read inside the page: ``performance.now()`` when the followers
counter is first in the document (a MutationObserver installed before the page's own scripts),
so Playwright's own round trips are not counted. ``cold`` navigations use a fresh browser
context each (nothing cached: a first visit); ``warm`` ones reload in one context (assets come
from the browser cache, their URLs being immutable). Bytes are the encoded (compressed) bodies
the browser received on a cold visit.

Printed per round and as medians over rounds: cold and warm p50 for both, the bytes, then
``web_page static/ours cold ratio: X`` (1.0 would mean the scripts and the API cost nothing).
The issue's goals: under 300 ms to the counters, under 150 KB compressed.

Run from the repository root::

    .venv/bin/python bench/web_page.py                  # 3 rounds x 20 navigations
    .venv/bin/python bench/web_page.py --rounds 1 --navigations 5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"]
COUNTER = '[data-count="followers"]'
# Installed before any script of the page: the moment the counter enters the document.
WATCH = """
(() => {
  const seen = () => {
    if (window.__countersAt === undefined && document.querySelector('COUNTER')) {
      window.__countersAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {childList: true, subtree: true});
})();
""".replace("COUNTER", COUNTER)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def bzpeer_serve() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BZPEER_")}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env |= {"BZPEER_DATA_DIR": data, "BZPEER_LOG_LEVEL": "WARNING"}
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(30)


@contextlib.contextmanager
def static_server(html: str, stylesheet: tuple[str, bytes]) -> Iterator[str]:
    """The baseline: the rendered page as one file, and its stylesheet, from a bare Starlette."""
    css_path, css = stylesheet

    async def page(_request: object) -> Response:
        return HTMLResponse(html)

    async def style(_request: object) -> Response:
        return Response(css, media_type="text/css")

    app = Starlette(routes=[Route("/", page), Route(css_path, style)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)


def seed_url(base: str) -> str:
    body = httpx.post(
        f"{base}/graphql",
        json={"query": '{ researchers(search: "Kaiyue Lu") { edges { node { id } } } }'},
    ).json()
    seed = body["data"]["researchers"]["edges"][0]["node"]["id"]
    return f"{base}/researchers/{quote(seed, safe='')}"


def snapshot(browser: Browser, url: str) -> tuple[str, tuple[str, bytes]]:
    """The page's markup once rendered, without scripts, and its stylesheet."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector(".graph .node.center")
    html = page.content()
    css_path = page.eval_on_selector(
        'link[rel="stylesheet"]', "link => new URL(link.href).pathname"
    )
    css = httpx.get(url.split("/researchers/")[0] + css_path).content
    page.close()
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.DOTALL)
    html = re.sub(r'<link rel="modulepreload"[^>]*>', "", html)
    return html, (css_path, css)


def cold(browser: Browser, url: str) -> tuple[float, int]:
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    received: list[int] = []
    page.on("response", lambda r: received.append(r.request.sizes()["responseBodySize"]))
    page.goto(url)
    page.wait_for_selector(COUNTER)
    at = float(page.evaluate("window.__countersAt"))
    page.wait_for_load_state("networkidle")
    context.close()
    return at, sum(received)


def warm(browser: Browser, url: str, count: int) -> list[float]:
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(COUNTER)
    times = []
    for _ in range(count):
        page.reload()
        page.wait_for_selector(COUNTER)
        times.append(float(page.evaluate("window.__countersAt")))
    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--navigations", type=int, default=20)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {
        k: [] for k in ("ours_cold", "ours_warm", "static_cold", "static_warm")
    }
    bytes_seen: dict[str, int] = {}
    with bzpeer_serve() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        url = seed_url(base)
        html, stylesheet = snapshot(browser, url)
        with static_server(html, stylesheet) as static_url:
            for target in (url, static_url):
                cold(browser, target)  # warm-up: server caches, the browser's own start
            for round_number in range(1, args.rounds + 1):
                line = []
                for name, target in (("ours", url), ("static", static_url)):
                    colds = [cold(browser, target) for _ in range(args.navigations)]
                    warms = warm(browser, target, args.navigations)
                    bytes_seen[name] = colds[-1][1]
                    cold_p50 = statistics.median(t for t, _ in colds)
                    warm_p50 = statistics.median(warms)
                    rows[f"{name}_cold"].append(cold_p50)
                    rows[f"{name}_warm"].append(warm_p50)
                    line.append(f"{name} cold p50 {cold_p50:.1f} ms, warm p50 {warm_p50:.1f} ms")
                print(f"round {round_number}: " + "; ".join(line), flush=True)
        browser.close()
    medians = {k: statistics.median(v) for k, v in rows.items()}
    print(
        f"ours: navigation to counters, cold {medians['ours_cold']:.1f} ms, "
        f"warm {medians['ours_warm']:.1f} ms (goal < 300 ms); "
        f"{bytes_seen['ours'] / 1024:.1f} KiB transferred on a cold visit (goal < 150 KB)"
    )
    print(
        f"static: cold {medians['static_cold']:.1f} ms, warm {medians['static_warm']:.1f} ms; "
        f"{bytes_seen['static'] / 1024:.1f} KiB"
    )
    print(f"web_page static/ours cold ratio: {medians['static_cold'] / medians['ours_cold']:.2f}")


if __name__ == "__main__":
    main()
