"""The seed profile in a real browser reads as the seed page does, from one GraphQL request,
with its graph slice drawn and recentred by mouse and keyboard."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Browser, Request, expect

from tests.web.conftest import Front, opened

SEED_ABSTRACT_START = "Recently, numerous efficient Transformers have been proposed"


def counters(page_text: dict[str, str]) -> tuple[str, ...]:
    return tuple(page_text[key] for key in ("works", "followers", "topics", "collaborators"))


def test_the_seed_profile_reads_as_the_seed_page(front: Front, browser: Browser) -> None:
    seed = front.researcher_id("Kaiyue Lu")
    with opened(browser, front) as tab:
        page = tab.page
        graphql: list[Request] = []
        page.on("request", lambda r: graphql.append(r) if r.url.endswith("/graphql") else None)
        page.goto(f"{front.base}/researchers/{quote(seed, safe='')}")
        main = page.locator("main")
        expect(page.get_by_role("heading", level=1)).to_have_text("Kaiyue Lu")
        expect(page).to_have_title("Kaiyue Lu · BZPEER")
        expect(main).to_contain_text(
            "Kaiyue Lu contributes to research discovery and scholarly infrastructure."
        )
        for text in (
            "Researcher profile",
            "Affiliation not imported",
            "Open to collaborate",
            "Trust 11 - Unverified",
            "Verification L1",
            "Unclaimed author",
            "Follow researcher",
            "Claiming links this public author record to a researcher profile",
            "Log in to claim",
            "Claim this author entity first to unlock direct invitations.",
            "Open full explorer",
            "1 published item(s)",
            "Neural Architecture Search on Efficient Transformers and Beyond",
            SEED_ABSTRACT_START,
        ):
            expect(main).to_contain_text(text)
        values = {
            key: page.locator(f'[data-count="{key}"]').inner_text()
            for key in ("works", "followers", "topics", "collaborators", "follow-button")
        }
        assert counters(values) == ("1", "0", "1", "4")
        assert values["follow-button"] == "0"
        expect(page.locator(".work .meta")).to_have_text("preprint2022arXiv")

        # The first render needed one GraphQL request, the profile page's own document.
        first = graphql[0].post_data_json
        assert first is not None
        assert first["operationName"] == "ProfilePage"
        assert first["query"].startswith("# The researcher profile page")

        # The slice loads after: nodes of every kind drawn, the centre marked.
        expect(page.locator(".graph .node.center")).to_have_count(1)
        assert page.locator(".graph .node.kind-Researcher").count() > 1
        assert page.locator(".graph .node.kind-Work").count() >= 1
        assert page.locator(".graph .node.kind-Topic").count() >= 1
        assert page.locator(".graph line.edge-COAUTHOR").count() >= 1
        expect(page.locator("figcaption")).to_contain_text("Centred on Kaiyue Lu")

        # "Log in to claim" leads to sign-in and back here.
        login = page.get_by_role("link", name="Log in to claim")
        assert login.get_attribute("href") == "/sign-in?next=" + quote(
            f"/researchers/{seed}", safe=""
        )
        for width in (375, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            tab.screenshot(f"profile-{width}")
        assert tab.errors == [] and tab.refused == []


def test_a_node_recentres_the_slice_by_mouse_and_by_keyboard(
    front: Front, browser: Browser
) -> None:
    seed = front.researcher_id("Kaiyue Lu")
    with opened(browser, front) as tab:
        page = tab.page
        page.goto(f"{front.base}/researchers/{quote(seed, safe='')}")
        caption = page.locator("figcaption")
        expect(caption).to_contain_text("Centred on Kaiyue Lu")

        topic = page.locator(".graph .node.kind-Topic").first
        name = topic.get_attribute("aria-label")
        assert name and name.startswith("Topic: ")
        topic.click()
        expect(caption).to_contain_text(f"Centred on {name.removeprefix('Topic: ')}")
        expect(page.locator(".graph .node.center")).to_have_attribute(
            "aria-label", f"{name} (centre)"
        )

        # Back to the start, then a researcher by keyboard only: focus it, press Enter.
        page.get_by_role("button", name="Back to the start").click()
        expect(caption).to_contain_text("Centred on Kaiyue Lu")
        other = page.locator(".graph .node.kind-Researcher:not(.center)").first
        label = other.get_attribute("aria-label") or ""
        other.focus()
        page.keyboard.press("Enter")
        person = label.removeprefix("Researcher: ")
        expect(caption).to_contain_text(f"Centred on {person}")
        expect(caption.get_by_role("link", name=f"Open {person}'s profile")).to_be_visible()
        assert tab.errors == [] and tab.refused == []


def test_an_unknown_profile_says_so(front: Front, browser: Browser) -> None:
    with opened(browser, front) as tab:
        tab.page.goto(f"{front.base}/researchers/nonsense")
        expect(tab.page.get_by_role("heading", level=1)).to_have_text("No such researcher")
        expect(tab.page.get_by_role("alert")).to_be_visible()
