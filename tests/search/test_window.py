"""The result window (``Settings.search_window``) on the KFUPM records, on both backends:
"reservoir" matches more works than the default window holds. Ranked by relevance, the list
holds the window's works (the most cited matches) in the order an unwindowed search ranks
them; by year it pages through every match; ``totalCount`` stops at the window and
``countsAreExact`` says so; the facets count the window's works (recounted in SQL); a search
that fits counts exactly; the search box's works and total follow the same window."""

from __future__ import annotations

from typing import Any

import pytest

from service.config import Settings
from service.graphql.relay import from_global_id, to_global_id
from tests.imports.support import fetch
from tests.search.test_relevance import NODE_TYPES, RECOUNTS, answer
from tests.support import LiveServer

WINDOW: int = Settings.model_fields["search_window"].default
BROAD = "reservoir"
LISTED = """query($q: String, $orderBy: WorkOrder, $first: Int, $after: String) {
  works(search: $q, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    countsAreExact
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}"""
FACETS = """query($q: String, $orderBy: WorkOrder) {
  works(search: $q, orderBy: $orderBy, first: 1) {
    totalCount
    countsAreExact
    facets {
      byYear(first: 50) { value count }
      byType(first: 50) { value count }
      byTopic(first: 50) { value count }
      byVenue(first: 50) { value count }
      byInstitution(first: 50) { value count }
    }
  }
}"""
BOX = """query($text: String!, $after: String) {
  search(text: $text, first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { __typename ... on Work { id } } }
  }
}"""
LIST_TOTALS = """query($q: String!) {
  researchers(search: $q) { totalCount } works(search: $q) { totalCount }
  topics(search: $q) { totalCount } institutions(search: $q) { totalCount }
  venues(search: $q) { totalCount }
}"""


def walk(server: LiveServer, text: str | None, order: str | None) -> tuple[list[int], int, bool]:
    """Every work the list holds, page by page, with its ``totalCount`` and
    ``countsAreExact``."""
    ids: list[int] = []
    after = None
    while True:
        works = answer(server, LISTED, q=text, orderBy=order, first=100, after=after)["works"]
        ids += [from_global_id(e["node"]["id"], "Work")[1] for e in works["edges"]]
        if not works["pageInfo"]["hasNextPage"]:
            return ids, works["totalCount"], works["countsAreExact"]
        after = works["pageInfo"]["endCursor"]


def most_cited(url: str, works: list[int]) -> list[int]:
    """``works`` in the window's order of a ranked search: most cited first, ties by id."""
    cited = dict(fetch(url, "SELECT id, cited_by_count FROM works"))
    return sorted(works, key=lambda work: (cited[work], work), reverse=True)


def test_the_default_window_is_smaller_than_what_the_broad_word_finds(
    unwindowed: LiveServer,
) -> None:
    everything, total, exact = walk(unwindowed, BROAD, "RELEVANCE")
    assert len(everything) > WINDOW and (total, exact) == (len(everything), True)


def test_a_ranked_list_holds_the_most_cited_matches_ranked(
    live: LiveServer, unwindowed: LiveServer, imported_url: str
) -> None:
    everything = walk(unwindowed, BROAD, "RELEVANCE")[0]
    window = set(most_cited(imported_url, everything)[:WINDOW])
    listed, total, exact = walk(live, BROAD, "RELEVANCE")
    assert listed == [work for work in everything if work in window]
    assert (total, exact) == (WINDOW, False)


@pytest.mark.parametrize("order", ["YEAR", "CITATIONS"])
def test_a_list_in_its_own_order_pages_through_every_match(
    live: LiveServer, unwindowed: LiveServer, order: str
) -> None:
    everything = walk(unwindowed, BROAD, order)[0]
    listed, total, exact = walk(live, BROAD, order)
    assert listed == everything
    assert (total, exact) == (WINDOW, False)


@pytest.mark.parametrize(
    ("text", "order"), [(BROAD, "RELEVANCE"), (BROAD, "YEAR"), (None, None)], ids=str
)
def test_the_facets_count_the_window(
    live: LiveServer, unwindowed: LiveServer, imported_url: str, text: str | None, order: str
) -> None:
    everything = walk(unwindowed, text, order)[0]
    # The window takes a ranked search's matches by citations, any other in the list's order.
    taken = most_cited(imported_url, everything) if order == "RELEVANCE" else everything
    assert len(taken) > WINDOW
    ids = ",".join(map(str, taken[:WINDOW]))
    works = answer(live, FACETS, q=text, orderBy=order)["works"]
    assert (works["totalCount"], works["countsAreExact"]) == (WINDOW, False)
    for facet, recount in RECOUNTS.items():
        node = NODE_TYPES.get(facet)
        rows = sorted(fetch(imported_url, recount.format(ids=ids)), key=lambda r: (-r[1], r[0]))
        expected = [
            {"value": to_global_id(node, value) if node else str(value), "count": count}
            for value, count in rows[:50]
        ]
        assert works["facets"][facet] == expected, facet


def test_a_search_within_the_window_counts_exactly(live: LiveServer) -> None:
    listed, total, exact = walk(live, "Enhanced Oil Recovery Techniques", None)
    assert 0 < len(listed) <= WINDOW
    assert (total, exact) == (len(listed), True)


def test_the_search_box_ranks_and_counts_the_window(
    live: LiveServer, unwindowed: LiveServer, imported_url: str
) -> None:
    everything = walk(unwindowed, BROAD, "RELEVANCE")[0]
    window = set(most_cited(imported_url, everything)[:WINDOW])
    found: list[int] = []
    after: Any = None
    while True:
        search = answer(live, BOX, text=BROAD, after=after)["search"]
        found += [
            from_global_id(e["node"]["id"], "Work")[1]
            for e in search["edges"]
            if e["node"]["__typename"] == "Work"
        ]
        if not search["pageInfo"]["hasNextPage"]:
            break
        after = search["pageInfo"]["endCursor"]
    assert len(found) == len(set(found)) and set(found) == window
    totals = answer(live, LIST_TOTALS, q=BROAD)
    assert search["totalCount"] == sum(listed["totalCount"] for listed in totals.values())
