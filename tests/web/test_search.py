"""Search from the header's box: one ranked list across kinds, researchers by a misspelled
name, and works with the facet sidebar whose values filter the list."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import Front, opened, serving


@pytest.fixture(scope="module")
def windowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """A front whose works searches count at most two works (the demo holds eight)."""
    with serving(tmp_path_factory, BZPEER_SEARCH_WINDOW="2") as running:
        yield running


def test_a_count_past_the_window_says_there_are_more(windowed: Front, browser: Browser) -> None:
    with opened(browser, windowed) as tab:
        page = tab.page
        page.goto(f"{windowed.base}/search?kind=works")
        expect(page.get_by_role("status")).to_have_text("2+ work(s)")
        page.goto(f"{windowed.base}/search?q=kernelised&kind=works")
        expect(page.get_by_role("status")).to_have_text("1 work(s)")
        assert tab.errors == []


def test_the_search_box_finds_a_misspelled_name_and_opens_the_profile(
    front: Front, browser: Browser
) -> None:
    with opened(browser, front, 375) as tab:
        page = tab.page
        page.goto(f"{front.base}/")
        box = page.get_by_role("searchbox", name="Search researchers, works, topics")
        box.fill("Kaiyu Lu")
        box.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Results for “Kaiyu Lu”")
        first = page.locator("ol.results li").first
        expect(first).to_contain_text("Kaiyue Lu")
        first.get_by_role("link", name="Kaiyue Lu").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Kaiyue Lu")
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("Results for “Kaiyu Lu”")
        assert box.input_value() == "Kaiyu Lu"

        page.get_by_role("navigation", name="What to search").get_by_role(
            "link", name="Researchers"
        ).click()
        expect(page.get_by_role("status")).to_contain_text("researcher(s)")
        expect(page.locator("ol.results li").first).to_contain_text("Kaiyue Lu")
        assert tab.errors == []


def test_works_search_filters_by_a_facet_and_back(front: Front, browser: Browser) -> None:
    with opened(browser, front) as tab:
        page = tab.page
        page.goto(f"{front.base}/search?q=attention&kind=works")
        count = page.get_by_role("status")
        expect(count).to_contain_text("work(s)")
        unfiltered = int(count.inner_text().split()[0])
        assert unfiltered > 1
        years = page.get_by_role("complementary", name="Filters").get_by_role("region", name="Year")
        year = years.get_by_role("link").first
        label = year.inner_text()
        expected = int(year.locator("xpath=following-sibling::span").inner_text())
        year.click()
        expect(count).to_have_text(f"{expected} work(s)")
        query = parse_qs(urlsplit(page.url).query)
        assert query["yearFrom"] == query["yearTo"] == [label]
        for item in page.locator("ol.works > li .meta").all():
            assert label in item.inner_text()
        page.get_by_role("link", name=f"Remove filter yearFrom {label}").click()
        page.get_by_role("link", name=f"Remove filter yearTo {label}").click()
        expect(count).to_have_text(f"{unfiltered} work(s)")
        assert tab.errors == []
