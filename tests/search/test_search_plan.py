"""The researcher search's compiled plan answers exactly as the general path, byte for byte, on
the KFUPM records imported into each backend: full names, misspellings, family names alone,
names with diacritics, two-letter and stop-word searches, syntax characters, no search at all;
every page size and every page of a long list; and whatever it declines (a too-long search, a
cursor it cannot read, a page size off limits) the general path answers, errors included."""

from __future__ import annotations

import random
from typing import Any

import pytest

from service.app import create_app
from service.graphql.relay import from_global_id, to_global_id
from tests.graphql.test_plans import assert_same_answer, planned_answers, post
from tests.imports.support import execute, fetch
from tests.support import LiveServer, contract, count_statements, serve, settings_for

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


# -- the works search ----------------------------------------------------------------------------

WORKS = contract("works_search.graphql")
WORKS_GENERAL = WORKS + "\n"


def compare_works(server: LiveServer, variables: dict[str, Any]) -> dict[str, Any]:
    planned = post(server, WORKS, variables)
    general = post(server, WORKS_GENERAL, variables)
    assert_same_answer(planned, general)
    body: dict[str, Any] = planned.json()
    return body


def work_searches(url: str) -> list[dict[str, Any]]:
    """Searches with the filters and orders a results page sends: two words of a topic's name
    within that topic since 2015, a title's first words, words alone with a type, an
    institution, an author or a venue, stop words and syntax characters, no search at all."""
    rng = random.Random(5)
    topics = fetch(
        url,
        "SELECT t.id, t.display_name FROM topics AS t WHERE t.level = 'TOPIC' AND t.id IN "
        "(SELECT topic_id FROM work_topics) ORDER BY t.id",
    )
    titles = [row[0] for row in fetch(url, "SELECT title FROM works ORDER BY id")]
    # Works a title search finds first: with no venue, with one author, with the most.
    titles += fetch(
        url,
        "SELECT (SELECT title FROM works WHERE venue_id IS NULL ORDER BY id LIMIT 1), "
        "(SELECT w.title FROM works AS w JOIN authorships AS a ON a.work_id = w.id "
        "GROUP BY w.id, w.title HAVING count(*) = 1 ORDER BY w.id LIMIT 1), "
        "(SELECT w.title FROM works AS w JOIN authorships AS a ON a.work_id = w.id "
        "GROUP BY w.id, w.title ORDER BY count(*) DESC, w.id LIMIT 1)",
    )[0]
    institution, author, venue = fetch(
        url,
        "SELECT (SELECT institution_id FROM authorship_institutions GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1), (SELECT researcher_id FROM authorships GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1), (SELECT venue_id FROM works WHERE venue_id IS NOT "
        "NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)",
    )[0]
    found: list[dict[str, Any]] = []
    for topic_id, name in rng.sample(topics, 4):
        words = name.split()
        text = " ".join(rng.sample(words, min(2, len(words)))).lower()
        topic = to_global_id("Topic", topic_id)
        found.append({"q": text, "filter": {"yearFrom": 2015, "topic": topic}})
        found.append({"q": text, "orderBy": "CITATIONS", "filter": {"topic": topic}})
    for title in rng.sample(titles[:-3], 4) + titles[-3:]:
        found.append({"q": " ".join(title.split()[:6])})
    found += [
        {"q": "learning", "filter": {"type": "ARTICLE", "hasAbstract": True}},
        {
            "q": "oil",
            "orderBy": "YEAR",
            "filter": {"institution": to_global_id("Institution", institution), "yearTo": 2020},
        },
        {"q": None, "filter": {"author": to_global_id("Researcher", author)}},
        {
            "q": "",
            "orderBy": "CITATIONS",
            "filter": {"venue": to_global_id("Venue", venue), "hasDoi": True},
        },
        {"q": "reservoir", "filter": {"hasAbstract": False, "yearFrom": None}},
        {"q": "the of"},
        {"q": '"&|:*%\\'},
        {},
    ]
    return found


@pytest.mark.parametrize("first", [None, 1, 7])
def test_work_searches_get_the_same_bytes(
    live: LiveServer, imported_url: str, first: int | None
) -> None:
    size = {} if first is None else {"first": first}
    assert "errors" not in post(live, WORKS, {"q": "admit", **size}).json()
    given = work_searches(imported_url)
    before = planned_answers(live)
    pages = [compare_works(live, {**v, **size})["data"]["works"] for v in given]
    assert planned_answers(live) - before == len(given)
    # What the answers hold, so that the comparison covers it.
    works = [edge["node"] for page in pages for edge in page["edges"]]
    assert {work["venue"] is None for work in works} == {True, False}
    assert {len(work["authorships"]) > 1 for work in works} == {True, False}
    assert any(page["totalCount"] == 0 for page in pages)
    assert any(page["pageInfo"]["hasNextPage"] for page in pages)
    for facet in ("byYear", "byType", "byTopic", "byVenue", "byInstitution"):
        assert any(page["facets"][facet] for page in pages), facet


def test_author_lists_are_cut_where_the_settings_say(imported_url: str) -> None:
    app = create_app(settings_for(imported_url, in_process_workers=False, max_authors_per_work=3))
    with serve(app) as server:
        variables = {"q": "reservoir", "first": 30}
        post(server, WORKS, variables)  # admits
        before = planned_answers(server)
        page = compare_works(server, variables)["data"]["works"]
        assert planned_answers(server) - before == 1
    lengths = [len(edge["node"]["authorships"]) for edge in page["edges"]]
    assert max(lengths) == 3 and min(lengths) < 3


@pytest.mark.parametrize("order", ["RELEVANCE", "YEAR", "CITATIONS"])
def test_every_page_of_a_long_work_list_alike(live: LiveServer, order: str) -> None:
    """Walks a list by cursors, both paths on every page, until the end or 15 pages."""
    post(live, WORKS, {"q": "reservoir", "first": 9})
    before = planned_answers(live)
    after: str | None = None
    seen: list[str] = []
    for _ in range(15):
        variables = {"q": "reservoir", "orderBy": order, "first": 9, "after": after}
        page = compare_works(live, variables)["data"]["works"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) > 30
    assert planned_answers(live) - before == -(-len(seen) // 9)


@pytest.mark.parametrize(
    "variables",
    [
        {"q": "x" * 201},
        {"q": 5},
        {"q": "oil", "after": "not-a-cursor"},
        {"q": "oil", "first": 101},
        {"q": "oil", "first": None},
        {"q": "oil", "orderBy": "BEST"},
        {"q": "oil", "other": 1},
        {"filter": {"yearFrom": 2020, "yearTo": 2010}},
        {"filter": {"yearFrom": "2010"}},
        {"filter": {"yearFrom": 2**31}},
        {"filter": {"type": "NOVEL"}},
        {"filter": {"hasDoi": "yes"}},
        {"filter": {"topic": "not-an-id"}},
        {"filter": {"topic": to_global_id("Venue", 1)}},
        {"filter": {"topic": to_global_id("Topic", 10**12)}},
        {"filter": {"author": to_global_id("Researcher", 10**12)}},
        {"filter": {"unknown": 1}},
        {"filter": "topic"},
    ],
)
def test_what_the_works_plan_declines_the_general_path_answers(
    live: LiveServer, variables: dict[str, Any]
) -> None:
    for size in (101, None, 20):
        post(live, WORKS, {"q": "oil", "first": size})  # admitted where it can be
    before = planned_answers(live)
    compare_works(live, variables)
    assert planned_answers(live) == before


def test_a_work_by_a_merged_author_is_left_to_the_general_path(
    live: LiveServer, imported_url: str
) -> None:
    """An authorship still naming a merged record (a merge moves them; this one did not yet
    move) shows the survivor: the general path's to answer."""
    variables = {"q": "reservoir", "first": 1}
    page = post(live, WORKS, variables).json()["data"]["works"]  # admits
    author = page["edges"][0]["node"]["authorships"][0]["author"]
    _, merged_id = from_global_id(author["id"], "Researcher")
    ((survivor_id, survivor_name),) = fetch(
        imported_url,
        "SELECT id, display_name FROM researchers WHERE id <> :m ORDER BY id LIMIT 1",
        m=merged_id,
    )
    merge = "UPDATE researchers SET merged_into_id = :s WHERE id = :m"
    execute(imported_url, merge, s=survivor_id, m=merged_id)
    try:
        before = planned_answers(live)
        body = compare_works(live, variables)
        assert planned_answers(live) == before
        shown = body["data"]["works"]["edges"][0]["node"]["authorships"][0]["author"]
        assert shown == {
            "id": to_global_id("Researcher", survivor_id),
            "displayName": survivor_name,
        }
    finally:
        execute(imported_url, merge, s=None, m=merged_id)


@pytest.mark.parametrize(("q", "expected"), [("reservoir", 4), (None, 4)])
def test_the_works_plan_runs_the_same_statements_at_any_page_size(
    live: LiveServer, q: str | None, expected: int
) -> None:
    """The topic filter's existence check, the page with its total and facets, the works
    with their venues and their author lists: flat whatever the page size."""
    topic = post(live, WORKS, {"q": q, "first": 1}).json()["data"]["works"]["facets"]["byTopic"]
    variables = {"q": q, "filter": {"topic": topic[0]["value"]}}
    counts = []
    for first in (1, 10, 40):
        post(live, WORKS, {**variables, "first": first})  # admits
        with count_statements(live.engine) as executed:
            body = post(live, WORKS, {**variables, "first": first}).json()
        assert len(body["data"]["works"]["edges"]) == first
        counts.append(len([s for s in executed if s != "BEGIN"]))  # SQLite's, not a read
    assert counts == [expected] * 3


# -- the search box ------------------------------------------------------------------------------

BOX = contract("search_box.graphql")
BOX_GENERAL = BOX + "\n"


def compare_box(server: LiveServer, variables: dict[str, Any]) -> dict[str, Any]:
    planned = post(server, BOX, variables)
    general = post(server, BOX_GENERAL, variables)
    assert_same_answer(planned, general)
    body: dict[str, Any] = planned.json()
    return body


def box_texts(url: str) -> list[str]:
    """What people type: names (one of a researcher without an affiliation), a name's last
    word, a topic's, an institution's and a venue's first words, two letters, stop words,
    syntax characters, nothing."""
    rng = random.Random(3)
    names = [row[0] for row in fetch(url, "SELECT display_name FROM researchers ORDER BY id")]
    found = [s for n in rng.sample(names, 5) for s in (n, n.split()[-1])]
    found += [
        row[0]
        for row in fetch(
            url,
            "SELECT display_name FROM researchers WHERE affiliation_id IS NULL ORDER BY id LIMIT 1",
        )
    ]
    for table in ("topics", "institutions", "venues"):
        named = [row[0] for row in fetch(url, f"SELECT display_name FROM {table} ORDER BY id")]
        found += [" ".join(n.split()[:2]) for n in rng.sample(named, 2)]
    return list(dict.fromkeys([*found, "petroleum", "Lu", "the of", '"&|:*%\\', "", "  "]))


@pytest.mark.parametrize("first", [None, 1, 5])
def test_search_box_texts_get_the_same_bytes(
    live: LiveServer, imported_url: str, first: int | None
) -> None:
    size = {} if first is None else {"first": first}
    assert "errors" not in post(live, BOX, {"text": "admit", **size}).json()
    given = box_texts(imported_url)
    before = planned_answers(live)
    pages = [compare_box(live, {"text": t, **size})["data"]["search"] for t in given]
    assert planned_answers(live) - before == len(given)
    # What the answers hold, so that the comparison covers it.
    kinds = {edge["node"]["__typename"] for page in pages for edge in page["edges"]}
    assert kinds == {"Researcher", "Work", "Topic", "Institution", "Venue"}
    researchers = [
        e["node"]
        for page in pages
        for e in page["edges"]
        if e["node"]["__typename"] == "Researcher"
    ]
    assert {node["affiliation"] is None for node in researchers} == {True, False}
    assert any(not page["edges"] for page in pages)
    assert any(page["pageInfo"]["hasNextPage"] for page in pages)


@pytest.mark.parametrize("text", ["petroleum", "ahmed"])
def test_every_page_of_the_search_box_alike(live: LiveServer, text: str) -> None:
    """Walks the mixed list by cursors, both paths on every page, until the end or 25 pages."""
    post(live, BOX, {"text": text, "first": 6})
    before = planned_answers(live)
    after: str | None = None
    seen: list[str] = []
    for _ in range(25):
        page = compare_box(live, {"text": text, "first": 6, "after": after})["data"]["search"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) > 30
    assert planned_answers(live) - before == -(-len(seen) // 6)


@pytest.mark.parametrize(
    "variables",
    [
        {"text": "x" * 201},
        {"text": None},
        {"text": 5},
        {"text": "ali", "after": "not-a-cursor"},
        {"text": "ali", "after": 5},
        {"text": "ali", "first": 101},
        {"text": "ali", "first": "5"},
        {"text": "ali", "other": 1},
    ],
)
def test_what_the_search_box_plan_declines_the_general_path_answers(
    live: LiveServer, variables: dict[str, Any]
) -> None:
    for size in (101, "5", 8):
        post(live, BOX, {"text": "ali", "first": size})  # admitted where it can be
    before = planned_answers(live)
    compare_box(live, variables)
    assert planned_answers(live) == before
