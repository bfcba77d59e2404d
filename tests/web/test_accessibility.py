"""Every page, at a phone's width (375 px) and a desktop's (1440 px): axe-core (pinned by
``tests/web/package-lock.json``) finds no serious or critical violation, nothing is wider than
the window, and a screenshot of each is written to ``tests/web/screenshots/`` (not committed)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.peers import code_in
from tests.support import contract, http_post
from tests.web.conftest import AXE, WIDTHS, Front, opened

SERIOUS = ("serious", "critical")
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    ready: str
    """A selector that is visible once the page has rendered what it loads."""
    signed_in: bool = False


def visits(front: Front) -> list[Visit]:
    seed = quote(front.researcher_id("Kaiyue Lu"), safe="")
    return [
        Visit("home", "/", "ol.results li"),
        Visit("profile", f"/researchers/{seed}", ".graph .node.center"),
        Visit("profile-signed-in", f"/researchers/{seed}", "form.inline-form", signed_in=True),
        Visit("explore", f"/explore/{seed}", ".graph .node.center"),
        Visit("search", "/search?" + urlencode({"q": "transformer"}), "ol.results li"),
        Visit(
            "search-works",
            "/search?" + urlencode({"q": "transformer", "kind": "works"}),
            ".facets li",
        ),
        Visit(
            "search-researchers",
            "/search?" + urlencode({"q": "zhong", "kind": "researchers"}),
            "ol.results li",
        ),
        Visit("sign-in", "/sign-in", "form button"),
        Visit("sign-up", "/sign-up", "form button"),
        Visit("confirm-email", "/confirm-email?token=abc", "form button"),
        Visit("reset-password", "/reset-password", "form button"),
        Visit("choose-password", "/reset-password?token=abc", "form button"),
        Visit("verify-claim", "/verify-claim?claim=Q2xhaW06MQ%3D%3D&token=abc", "form button"),
        Visit("invitations", "/invitations", "main p", signed_in=True),
        Visit("not-found", "/researchers/nonsense", "[role=alert]"),
    ]


def signed_in_account(front: Front, page: Page) -> None:
    """An account made through the API, signed in inside the page's browser (its cookie)."""
    email = f"a11y-{uuid.uuid4().hex[:8]}@example.org"
    actions = contract("viewer_actions.graphql")

    def send(operation: str, **variables: str) -> dict[str, Any]:
        body: dict[str, Any] = http_post(
            f"{front.base}/graphql",
            json={"query": actions, "operationName": operation, "variables": variables},
        ).json()
        assert "errors" not in body, body
        return body

    send("SignUp", email=email, password=PASSWORD, displayName="Ada Able")
    send("ConfirmEmail", token=code_in(front.mail.wait_for(email, "Confirm your BZPEER")))
    answer = page.context.request.post(
        f"{front.base}/graphql",
        data=json.dumps(
            {
                "query": actions,
                "operationName": "SignIn",
                "variables": {"email": email, "password": PASSWORD},
            }
        ),
        headers={"content-type": "application/json"},
    )
    assert answer.ok and "errors" not in answer.json()


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_and_fits_the_window(
    front: Front, browser: Browser, width: int
) -> None:
    problems: list[str] = []
    for signed_in in (False, True):
        with opened(browser, front, width, bypass_csp=True) as tab:
            page = tab.page
            if signed_in:
                signed_in_account(front, page)
            for visit in visits(front):
                if visit.signed_in != signed_in:
                    continue
                page.goto(front.base + visit.path)
                expect(page.locator(visit.ready).first).to_be_visible()
                expect(page.locator("main [role=status]", has_text="Loading")).to_have_count(0)
                tab.screenshot(f"{visit.name}-{width}")
                problems += [f"{visit.name}: {v}" for v in serious_violations(page)]
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if overflow > 0:
                    problems.append(f"{visit.name}: {overflow} px wider than the window")
            assert tab.refused == []
    assert problems == []
