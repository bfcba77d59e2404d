"""Names, titles and abstracts are untrusted input (anyone's import): the pages show them as
text. An integrator imports an author named with markup; no script of theirs runs, in the
profile, the works list, the search results or the graph. And the page itself cannot parse
markup: its policy (Trusted Types) makes every HTML sink throw."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from playwright.sync_api import Browser, expect

from tests.web.conftest import Front, opened

NAME = '<script>window.pwned = "name"</script><img src=x onerror="window.pwned = 1">Eve'
TITLE = 'Markup <img src=x onerror="window.pwned = 2"> in a title'
ABSTRACT = "<script>window.pwned = 3</script> & an abstract with <b>tags</b>"


def test_markup_in_names_titles_and_abstracts_renders_as_text(
    front: Front, browser: Browser
) -> None:
    key = front.api_key()
    eve = front.add_work(key, TITLE, ("A5000000666", NAME), abstract=ABSTRACT, publicationYear=2024)
    with opened(browser, front) as tab:
        page = tab.page
        page.goto(f"{front.base}/researchers/{quote(eve, safe='')}")
        expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
        expect(page.locator(".work h3")).to_have_text(TITLE)
        expect(page.locator(".work .abstract")).to_have_text(ABSTRACT)
        expect(page.locator(".graph .node.center")).to_have_count(1)
        assert page.locator("main script, main img, main b").count() == 0
        assert page.evaluate("window.pwned") is None

        page.goto(f"{front.base}/search?{urlencode({'q': 'Eve', 'kind': 'researchers'})}")
        expect(page.locator(".results")).to_contain_text(NAME)
        page.goto(f"{front.base}/search?{urlencode({'q': 'markup title', 'kind': 'works'})}")
        expect(page.locator(".works h3").first).to_have_text(TITLE)
        assert page.locator("main script, main img").count() == 0
        assert page.evaluate("window.pwned") is None
        assert tab.refused == []  # the <img src=x> was never even requested


def test_the_page_cannot_parse_markup(front: Front, browser: Browser) -> None:
    """Trusted Types: assigning a string to innerHTML throws, so a future slip cannot
    become a hole."""
    with opened(browser, front) as tab:
        page = tab.page
        response = page.goto(f"{front.base}/")
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "require-trusted-types-for 'script'" in policy
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        outcome = page.evaluate(
            """() => {
              try { document.querySelector("main").innerHTML = "<b>x</b>"; return "parsed"; }
              catch (error) { return error.name; }
            }"""
        )
        assert outcome == "TypeError"
        assert page.locator("main b").count() == 0


def test_more_works_pages_through_a_long_list(front: Front, browser: Browser) -> None:
    key = front.api_key()
    author = ("A5000000777", "Paige Turner")
    for number in range(1, 13):
        paige = front.add_work(
            key, f"Paging study number {number}", author, publicationYear=2000 + number
        )
    with opened(browser, front) as tab:
        page = tab.page
        page.goto(f"{front.base}/researchers/{quote(paige, safe='')}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Paige Turner")
        expect(page.locator('[data-count="works"]')).to_have_text("12")
        expect(page.locator("main")).to_contain_text("12 published item(s)")
        titles = page.locator("ol.works > li h3")
        expect(titles).to_have_count(10)
        # Newest first: 2012 down to 2003, then the last two.
        expect(titles.first).to_have_text("Paging study number 12")
        page.get_by_role("button", name="More works").click()
        expect(titles).to_have_count(12)
        expect(titles.last).to_have_text("Paging study number 1")
        expect(page.get_by_role("button", name="More works")).to_have_count(0)
        assert tab.errors == []
