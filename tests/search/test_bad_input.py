"""Bad input to the search lists gets a GraphQL error with a stable code, BAD_USER_INPUT naming
the argument where the service checks it (an over-long search, an impossible year range,
filters naming nothing that exists or another type, a country that is not a code, a facet size
out of range), "Invalid cursor" for a cursor of another list, and never an internal error (a
forged cursor key, a NUL character); what only looks odd is no error: an empty or blank search
is no search, search syntax is text, and a search of stop words or punctuation finds nothing.
Over HTTP on a real server, on both backends (the demo database)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from service.graphql.relay import to_global_id
from tests.search.support import Api
from tests.support import LiveServer, errors_of

MISSING = 999_999
"""A primary key no demo row has."""

LISTS = {
    name: f"query($s: String) {{ {name}(search: $s) {{ totalCount edges {{ node {{ id }} }} }} }}"
    for name in ("researchers", "works", "topics", "institutions", "venues")
}
"""Every list with a ``search`` argument, with what tells two answers apart."""
SEARCH_BOX = (
    "query($s: String!) { search(text: $s) "
    "{ totalCount edges { node { __typename ... on Node { id } } } } }"
)
WORKS_FILTERED = "query($f: WorkFilter) { works(filter: $f) { totalCount } }"
RESEARCHERS_FILTERED = "query($f: ResearcherFilter) { researchers(filter: $f) { totalCount } }"
INSTITUTIONS_FILTERED = "query($f: InstitutionFilter) { institutions(filter: $f) { totalCount } }"
FACETS = """
query($s: String) {
  works(search: $s) {
    totalCount
    facets {
      byYear { value count }
      byType { value count }
      byTopic { value count }
      byVenue { value count }
      byInstitution { value count }
    }
  }
}
"""


@pytest.fixture(scope="module")
def api(demo_server: LiveServer) -> Iterator[Api]:
    with demo_server.client() as client:
        yield Api(client)


def assert_bad_input(body: dict[str, Any], argument: str) -> None:
    """One BAD_USER_INPUT error that names ``argument``."""
    assert errors_of(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"].get("argument") == argument, body["errors"][0]


def answer(server: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The data of an answer that has no error."""
    body = server.graphql(query, variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


class TestSearchLength:
    @pytest.mark.parametrize("name", list(LISTS))
    def test_over_200_characters(self, api: Api, name: str) -> None:
        assert_bad_input(api.graphql(LISTS[name], {"s": "a" * 201}), "search")

    @pytest.mark.parametrize("name", list(LISTS))
    def test_200_characters_are_a_search(self, api: Api, name: str) -> None:
        answer(api, LISTS[name], {"s": "transformer " * 16 + "attentio"})

    def test_search_box_names_text(self, api: Api) -> None:
        assert_bad_input(api.graphql(SEARCH_BOX, {"s": "a" * 201}), "text")
        answer(api, SEARCH_BOX, {"s": "a" * 200})


class TestFilters:
    def test_year_from_after_year_to(self, api: Api) -> None:
        body = api.graphql(WORKS_FILTERED, {"f": {"yearFrom": 2020, "yearTo": 2010}})
        assert_bad_input(body, "filter.yearFrom")

    def test_one_year(self, api: Api) -> None:
        data = answer(api, WORKS_FILTERED, {"f": {"yearFrom": 2022, "yearTo": 2022}})
        assert data["works"]["totalCount"] >= 1  # the seed work

    @pytest.mark.parametrize(
        ("key", "type_name"),
        [("topic", "Topic"), ("venue", "Venue"), ("institution", "Institution"),
         ("author", "Researcher")],
    )  # fmt: skip
    def test_work_filter_naming_nothing(self, api: Api, key: str, type_name: str) -> None:
        body = api.graphql(WORKS_FILTERED, {"f": {key: to_global_id(type_name, MISSING)}})
        assert_bad_input(body, f"filter.{key}")

    @pytest.mark.parametrize(
        ("key", "type_name"), [("topic", "Topic"), ("institution", "Institution")]
    )
    def test_researcher_filter_naming_nothing(self, api: Api, key: str, type_name: str) -> None:
        variables = {"f": {key: to_global_id(type_name, MISSING)}}
        assert_bad_input(api.graphql(RESEARCHERS_FILTERED, variables), f"filter.{key}")

    @pytest.mark.parametrize(
        ("key", "wrong"),
        [("topic", "Venue"), ("venue", "Topic"), ("institution", "Researcher"),
         ("author", "Institution")],
    )  # fmt: skip
    def test_work_filter_id_of_another_type(self, api: Api, key: str, wrong: str) -> None:
        body = api.graphql(WORKS_FILTERED, {"f": {key: to_global_id(wrong, 1)}})
        assert_bad_input(body, f"filter.{key}")

    @pytest.mark.parametrize("key", ["topic", "institution"])
    def test_researcher_filter_id_of_another_type(self, api: Api, key: str) -> None:
        body = api.graphql(RESEARCHERS_FILTERED, {"f": {key: to_global_id("Work", 1)}})
        assert_bad_input(body, f"filter.{key}")

    def test_malformed_id(self, api: Api) -> None:
        body = api.graphql(WORKS_FILTERED, {"f": {"topic": "not-an-id"}})
        assert_bad_input(body, "filter.topic")

    def test_institution_type_with_a_nul_character(self, api: Api) -> None:
        """Refused naming the argument, or an answer (no institution has that type); never an
        internal error (PostgreSQL refuses NUL in text)."""
        body = api.graphql(INSTITUTIONS_FILTERED, {"f": {"type": "education\x00"}})
        if errors_of(body):
            assert_bad_input(body, "filter.type")
        else:
            assert body["data"]["institutions"]["totalCount"] == 0

    def test_negative_works_min(self, api: Api) -> None:
        body = api.graphql(RESEARCHERS_FILTERED, {"f": {"worksMin": -1}})
        assert_bad_input(body, "filter.worksMin")

    def test_filters_naming_what_exists(self, api: Api) -> None:
        """The ids the facets give are ids the filters take."""
        facets = answer(api, FACETS, {})["works"]["facets"]
        for facet, key in (("byTopic", "topic"), ("byVenue", "venue")):
            bucket = facets[facet][0]
            data = answer(api, WORKS_FILTERED, {"f": {key: bucket["value"]}})
            assert data["works"]["totalCount"] == bucket["count"]


class TestCountries:
    @pytest.mark.parametrize("country", ["Saudi", "S", "S1", "ÄB", "", "S\x00"])
    def test_not_a_two_letter_code(self, api: Api, country: str) -> None:
        variables = {"f": {"country": country}}
        assert_bad_input(api.graphql(RESEARCHERS_FILTERED, variables), "filter.country")
        assert_bad_input(api.graphql(INSTITUTIONS_FILTERED, variables), "filter.country")

    def test_code_in_any_case(self, api: Api) -> None:
        for country in ("DE", " de "):
            data = answer(api, INSTITUTIONS_FILTERED, {"f": {"country": country}})
            assert data["institutions"]["totalCount"] == 1  # BZPEER Demo University


class TestOrders:
    def test_unknown_order_in_the_document(self, api: Api) -> None:
        body = api.graphql("{ works(orderBy: NEWEST) { totalCount } }")
        assert errors_of(body) == ["GRAPHQL_VALIDATION_FAILED"]
        assert body.get("data") is None

    def test_order_of_another_list(self, api: Api) -> None:
        body = api.graphql("{ researchers(orderBy: YEAR) { totalCount } }")
        assert errors_of(body) == ["GRAPHQL_VALIDATION_FAILED"]

    def test_unknown_order_in_a_variable(self, api: Api) -> None:
        body = api.graphql(
            "query($o: WorkOrder) { works(orderBy: $o) { totalCount } }", {"o": "NEWEST"}
        )
        assert errors_of(body) == ["BAD_USER_INPUT"]
        assert body.get("data") is None


def first_cursor(server: Api, field: str, arguments: str) -> str:
    data = answer(server, f"{{ {field}({arguments}, first: 1) {{ edges {{ cursor }} }} }}", {})
    cursor: str = data[field]["edges"][0]["cursor"]
    return cursor


class TestCursors:
    @pytest.mark.parametrize(
        ("source", "target"),
        [
            (("works", "orderBy: YEAR"), ("works", "orderBy: CITATIONS")),
            (("works", 'search: "attention"'), ("works", "orderBy: YEAR")),
            (("works", 'search: "attention"'), ("works", 'search: "attention", orderBy: YEAR')),
            (("researchers", 'search: "Lu"'), ("researchers", 'search: "Lu", orderBy: NAME')),
            (("researchers", "orderBy: WORKS"), ("researchers", "orderBy: FOLLOWERS")),
            (("researchers", "orderBy: TRUST"), ("researchers", "orderBy: WORKS")),
            (("topics", "orderBy: NAME"), ("institutions", "orderBy: NAME")),
            (("search", 'text: "attention"'), ("works", 'search: "attention"')),
            (("works", 'search: "attention"'), ("search", 'text: "attention"')),
        ],
    )
    def test_cursor_of_another_order(
        self, api: Api, source: tuple[str, str], target: tuple[str, str]
    ) -> None:
        cursor = first_cursor(api, *source)
        field, arguments = target
        body = api.graphql(
            f"query($c: String) {{ {field}({arguments}, first: 2, after: $c) "
            "{ edges { cursor } } }",
            {"c": cursor},
        )
        assert errors_of(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["message"].startswith("Invalid cursor")

    @pytest.mark.parametrize(
        ("field", "arguments", "key"),
        [
            ("works", "orderBy: YEAR", ["w.year", 2**40, 1]),
            ("works", "orderBy: CITATIONS", ["w.citations", 2**40, 1]),
            ("researchers", "orderBy: WORKS", ["r.works", 2**40, 1]),
            ("researchers", "orderBy: TRUST", ["r.trust", 2**40, 1]),
            ("researchers", "orderBy: FOLLOWERS", ["r.followers", 2**40, 1]),
            ("search", 'text: "attention"', ["search", 0.5, 2**40, 1]),
        ],
    )
    def test_forged_key_past_what_the_column_holds(
        self, api: Api, field: str, arguments: str, key: list[Any]
    ) -> None:
        """A cursor is client input: one whose key no row can have (over 2^31 where the key
        column is a 32-bit integer, though within the 64 bits a cursor may hold) is refused or
        answered, never an internal error."""
        cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
        body = api.graphql(
            f"query($c: String) {{ {field}({arguments}, first: 2, after: $c) "
            "{ edges { cursor } } }",
            {"c": cursor},
        )
        assert errors_of(body) in ([], ["BAD_USER_INPUT"]), body

    def test_cursor_of_the_same_order(self, api: Api) -> None:
        cursor = first_cursor(api, "works", "orderBy: CITATIONS")
        body = api.graphql(
            "query($c: String) { works(orderBy: CITATIONS, first: 2, after: $c) "
            "{ edges { cursor } } }",
            {"c": cursor},
        )
        assert "errors" not in body
        assert cursor not in [e["cursor"] for e in body["data"]["works"]["edges"]]


class TestFacets:
    @pytest.mark.parametrize("facet", ["byYear", "byType", "byTopic", "byVenue", "byInstitution"])
    @pytest.mark.parametrize("first", [0, 51, -1])
    def test_size_out_of_range(self, api: Api, facet: str, first: int) -> None:
        body = api.graphql(f"{{ works {{ facets {{ {facet}(first: {first}) {{ value }} }} }} }}")
        assert_bad_input(body, "first")

    @pytest.mark.parametrize("first", [1, 50])
    def test_size_in_range(self, api: Api, first: int) -> None:
        data = answer(
            api,
            "query($n: Int!) { works { facets { byYear(first: $n) { count } } } }",
            {"n": first},
        )
        assert 1 <= len(data["works"]["facets"]["byYear"]) <= first


class TestBlankSearch:
    @pytest.mark.parametrize("name", list(LISTS))
    @pytest.mark.parametrize("blank", ["", "   ", "\t\n "])
    def test_is_no_search(self, api: Api, name: str, blank: str) -> None:
        unsearched = answer(api, LISTS[name], {})
        assert unsearched[name]["totalCount"] > 0
        assert answer(api, LISTS[name], {"s": blank}) == unsearched

    def test_blank_facets_are_those_of_no_search(self, api: Api) -> None:
        assert answer(api, FACETS, {"s": "  "}) == answer(api, FACETS, {})

    def test_blank_search_box_finds_nothing(self, api: Api) -> None:
        for blank in ("", "   "):
            data = answer(api, SEARCH_BOX, {"s": blank})
            assert data["search"] == {"totalCount": 0, "edges": []}


SYNTAX = [
    ('"efficient transformers', "efficient transformers"),
    ("efficient & transformers", "efficient transformers"),
    ("attention | transformer", "attention transformer"),
    ("transform:*", "transform"),
    ("transformer:* & !softmax", "transformer softmax"),
    ("attention%", "attention"),
    ("efficient\\transformers", "efficient transformers"),
    ("(attention", "attention"),
    ("!attention", "attention"),
    ("efficient <-> transformers", "efficient transformers"),
    ("Kaiyue & Lu", "Kaiyue Lu"),
    ("Kai%", "Kai"),
    ("Lu'", "Lu"),
    ("arXiv)", "arXiv"),
    ("attention\x00transformer", "attention transformer"),
]
"""Searches holding the syntax of tsquery, FTS5, LIKE or a string literal, and the plain words
each means."""


class TestSyntaxIsText:
    @pytest.mark.parametrize(("typed", "words"), SYNTAX)
    def test_same_answer_as_the_words(self, api: Api, typed: str, words: str) -> None:
        found = 0
        for name, query in LISTS.items():
            expected = answer(api, query, {"s": words})
            assert answer(api, query, {"s": typed}) == expected, name
            found += expected[name]["totalCount"]
        expected = answer(api, SEARCH_BOX, {"s": words})
        assert answer(api, SEARCH_BOX, {"s": typed}) == expected
        assert found == expected["search"]["totalCount"] > 0

    def test_facets_of_syntax(self, api: Api) -> None:
        typed = answer(api, FACETS, {"s": "attention & (transformer | !x:*)"})
        assert typed == answer(api, FACETS, {"s": "attention transformer x"})


NOTHING_TO_FIND = [
    "the",
    "The of AND",
    "a an the",
    "%",
    "&|!():*\\",
    '"',
    "<->",
    "'",
    "% _ %",
    "\x00",
    "—",
]
"""Searches without a word that is not an English stop word."""


class TestNothingToFind:
    @pytest.mark.parametrize("typed", NOTHING_TO_FIND)
    def test_every_list_is_empty(self, api: Api, typed: str) -> None:
        for name, query in LISTS.items():
            assert answer(api, query, {"s": typed})[name] == {
                "totalCount": 0,
                "edges": [],
            }
        assert answer(api, SEARCH_BOX, {"s": typed})["search"] == {
            "totalCount": 0,
            "edges": [],
        }

    @pytest.mark.parametrize("typed", ["the of", "&|!"])
    def test_facets_are_empty(self, api: Api, typed: str) -> None:
        works = answer(api, FACETS, {"s": typed})["works"]
        assert works["totalCount"] == 0
        facets = ("byYear", "byType", "byTopic", "byVenue", "byInstitution")
        assert works["facets"] == {facet: [] for facet in facets}
