"""The web front as a person meets it: ``bzpeer serve`` (the embedded default, demo data, its
in-process worker) started as a process, mail going to a real SMTP server on loopback and ORCID
sign-in to an OAuth server on loopback, driven by Debian's Chromium."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser import TIMEOUT_MS, loopback_only
from tests.browser import browser as browser  # the fixture
from tests.peers import MailTrap, OrcidServer, orcid_server, smtp_server
from tests.support import (
    contract,
    environment,
    http_post,
    reserved_port,
    stop_process,
    wait_until_serving,
)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "tests" / "web" / "screenshots"
AXE = REPO / "tests" / "web" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (375, 1440)
GENEROUS = "1000/minute"


@dataclass
class Front:
    """A running ``bzpeer serve`` with its mail and ORCID peers."""

    base: str
    mail: MailTrap
    orcid: OrcidServer
    env: dict[str, str]
    database: Path
    """The embedded default's SQLite file."""

    def sql(self, statement: str) -> None:
        """A write beside the running service, as an operator's tool would make it (the
        stdlib driver: Playwright's loop leaves no room for an asyncio engine here)."""
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as db, db:
            db.execute(statement)

    def researcher_id(self, name: str) -> str:
        body = http_post(
            f"{self.base}/graphql",
            json={"query": contract("researcher_search.graphql"), "variables": {"q": name}},
        ).json()
        return str(body["data"]["researchers"]["edges"][0]["node"]["id"])

    def api_key(self) -> str:
        """A new integrator key (scope ``import``), made as an operator does."""
        done = subprocess.run(
            [sys.executable, "-m", "service.cli", "api-key", "create", "--name", "web-tests"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.splitlines()[0].strip()

    def add_work(self, key: str, title: str, author: tuple[str, str], **fields: object) -> str:
        """``addWork`` as an integrator sends it; ``author`` is (OpenAlex id, name). The
        researcher's global id."""
        body = http_post(
            f"{self.base}/graphql",
            json={
                "query": contract("import_works.graphql"),
                "operationName": "AddWork",
                "variables": {
                    "input": {
                        "title": title,
                        "authors": [{"openalexId": author[0], "displayName": author[1]}],
                        **fields,
                    }
                },
            },
            headers={"authorization": f"Bearer {key}"},
        ).json()
        assert "errors" not in body, body
        return str(body["data"]["addWork"]["work"]["authorships"][0]["author"]["id"])

    def link_in(self, to: str, subject: str, path: str) -> str:
        """The link to ``path`` in the latest mail to ``to`` about ``subject``."""
        message = self.mail.wait_for(to, subject)
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        found = re.search(rf"{re.escape(self.base)}{re.escape(path)}\?\S+", body.decode())
        assert found, body
        return found.group(0)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    with serving(tmp_path_factory) as running:
        yield running


@contextlib.contextmanager
def serving(tmp_path_factory: pytest.TempPathFactory, **settings: str) -> Iterator[Front]:
    """``bzpeer serve`` on the demo data with its peers, and ``settings`` (``BZPEER_*``)."""
    data = tmp_path_factory.mktemp("web") / "data"
    with (
        smtp_server() as (mail, smtp_url),
        orcid_server() as orcid,
        reserved_port() as port,
        tempfile.TemporaryFile("w+") as log,
    ):
        base = f"http://127.0.0.1:{port}"
        env = environment(
            BZPEER_DATA_DIR=str(data),
            BZPEER_PUBLIC_URL=base,
            BZPEER_SMTP_URL=smtp_url,
            BZPEER_ORCID_BASE_URL=orcid.base_url,
            BZPEER_ORCID_CLIENT_ID=orcid.client_id,
            BZPEER_ORCID_CLIENT_SECRET=orcid.client_secret,
            BZPEER_RATE_LIMIT_SIGN_UP_PER_ADDRESS=GENEROUS,
            BZPEER_RATE_LIMIT_SIGN_IN_PER_ADDRESS=GENEROUS,
            BZPEER_RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS=GENEROUS,
            **settings,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_serving(base, process)
            yield Front(base, mail, orcid, env, data / "bzpeer.sqlite3")
        finally:
            stop_process(process)
            log.seek(0)
            output = log.read()
    assert "Traceback" not in output, output


@dataclass
class Tab:
    """One browser context (a person's browser) with one page on the front."""

    context: BrowserContext
    page: Page
    refused: list[str]
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> None:
        """Writes ``tests/web/screenshots/<name>.png`` (not committed), the whole page."""
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@contextlib.contextmanager
def opened(
    browser: Browser, front: Front, width: int = 1440, *, bypass_csp: bool = False
) -> Iterator[Tab]:
    """A fresh browser (its own cookies) that may reach the front and ORCID's loopback server
    only. Page errors and console errors are kept in ``errors``. ``bypass_csp`` lets a test
    inject a checker script (axe) that the page's own policy would refuse."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, service_workers="block", bypass_csp=bypass_csp
    )
    try:
        refused = loopback_only(context, front.base, also=[front.orcid.base_url])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        tab = Tab(context, page, refused)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        yield tab
    finally:
        context.close()
