"""The researcher search's compiled plan answers exactly as the general path, byte for byte, on
the KFUPM records imported into each backend: full names, misspellings, family names alone,
names with diacritics, two-letter and stop-word searches, syntax characters, no search at all;
every page size and every page of a long list; and whatever it declines (a too-long search, a
cursor it cannot read, a page size off limits) the general path answers, errors included."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.graphql.test_plans import assert_same_answer, planned_answers, post
from tests.imports.support import fetch
from tests.support import LiveServer, contract, count_statements

SEARCH = contract("researcher_search.graphql")
GENERAL = SEARCH + "\n"
"""The same operation in a text no plan matches."""
FIXED = ["Lu", "the of", '"&|:*%\\', "", "   ", "al-", "Mohammed Al"]
"""Searches a sample of names would not hold: short words, stop words and syntax
characters (both answer empty or the same list), no search (every researcher by name)."""


def compare(server: LiveServer, variables: dict[str, Any]) -> dict[str, Any]:
    planned = post(server, SEARCH, variables)
    general = post(server, GENERAL, variables)
    assert_same_answer(planned, general)
    body: dict[str, Any] = planned.json()
    return body


def misspelled(name: str, rng: random.Random) -> str:
    """Two neighbouring letters of the name's longest word swapped."""
    words = name.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) > 3:
        at = rng.randrange(1, len(word) - 2)
        words[longest] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return " ".join(words)


def searches(url: str) -> list[str]:
    """For a sample of researchers (some with non-ASCII names): the full name, a misspelling
    and the last word; then ``FIXED``."""
    rng = random.Random(11)
    names = [row[0] for row in fetch(url, "SELECT display_name FROM researchers ORDER BY id")]
    accented = [n for n in names if not n.isascii()]
    chosen = rng.sample(names, 10) + rng.sample(accented, 3)
    found = [s for n in chosen for s in (n, misspelled(n, rng), n.split()[-1])]
    return list(dict.fromkeys(found + FIXED))


@pytest.mark.parametrize("first", [None, 1, 7, 100])
def test_searches_get_the_same_bytes(
    live: LiveServer, imported_url: str, first: int | None
) -> None:
    size = {} if first is None else {"first": first}
    assert "errors" not in post(live, SEARCH, {"q": "admit", **size}).json()
    given = searches(imported_url)
    before = planned_answers(live)
    pages = [compare(live, {"q": q, **size})["data"]["researchers"] for q in given]
    assert planned_answers(live) - before == len(given)
    # What the answers hold, so that the comparison covers it.
    nodes = [edge["node"] for page in pages for edge in page["edges"]]
    assert {node["affiliation"] is None for node in nodes} == {True, False}
    assert len({node["counts"]["works"] for node in nodes}) > 3
    assert any(page["totalCount"] == 0 for page in pages)
    if first != 100:
        assert any(page["pageInfo"]["hasNextPage"] for page in pages)


@pytest.mark.parametrize("q", ["mohammad", ""])
def test_every_page_of_a_long_list_alike(live: LiveServer, q: str) -> None:
    """Walks the list by cursors (relevance for a name, by name without a search), both paths
    on every page, until the end or 30 pages."""
    post(live, SEARCH, {"q": q, "first": 5})
    before = planned_answers(live)
    after: str | None = None
    seen: list[str] = []
    for _ in range(30):
        page = compare(live, {"q": q, "first": 5, "after": after})["data"]["researchers"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) > 10
    assert planned_answers(live) - before == -(-len(seen) // 5)


@pytest.mark.parametrize(
    "variables",
    [
        {"q": "x" * 201},
        {"q": "ali", "after": "not-a-cursor"},
        {"q": "ali", "after": 5},
        {"q": None},
        {"q": "ali", "first": 101},
        {"q": "ali", "first": -1},
        {"q": "ali", "first": "5"},
        {"q": "ali", "first": True},
        {"q": "ali", "other": 1},
    ],
)
def test_what_the_plan_declines_the_general_path_answers(
    live: LiveServer, variables: dict[str, Any]
) -> None:
    for size in (101, -1, "5", True, 10):
        post(live, SEARCH, {"q": "ali", "first": size})  # admitted where it can be
    before = planned_answers(live)
    compare(live, variables)
    assert planned_answers(live) == before


def test_a_name_cursor_is_refused_on_a_relevance_list(live: LiveServer) -> None:
    by_name = compare(live, {"q": "", "first": 2})["data"]["researchers"]["pageInfo"]
    post(live, SEARCH, {"q": "ali", "first": 2})
    before = planned_answers(live)
    body = compare(live, {"q": "ali", "first": 2, "after": by_name["endCursor"]})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert planned_answers(live) == before


@pytest.mark.parametrize(("q", "expected"), [("mohammad", 2), ("", 3)])
def test_the_plan_runs_the_same_statements_at_any_page_size(
    live: LiveServer, q: str, expected: int
) -> None:
    """The index's page (counting in the same statement on a first page with text, apart
    without text) and the researchers shown: flat whatever the page size."""
    counts = []
    for first in (1, 10, 50):
        post(live, SEARCH, {"q": q, "first": first})  # admits
        with count_statements(live.engine) as executed:
            body = post(live, SEARCH, {"q": q, "first": first}).json()
        assert len(body["data"]["researchers"]["edges"]) == first
        counts.append(len([s for s in executed if s != "BEGIN"]))  # SQLite's, not a read
    assert counts == [expected] * 3
