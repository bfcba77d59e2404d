"""Relevance a person would call right, on the KFUPM records imported into each backend: a
misspelled name finds the person first, names with diacritics, transliterated letters and
Unicode hyphens match their plain spellings, a phrase from a title finds that work first, a
topic's name finds the works of that topic; facet counts equal a recount in SQL over the very
works the connection lists; a work imported through the API is findable in the same second,
and an updated title is found by its new words only."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from service.graphql.relay import from_global_id, to_global_id
from service.researchers.names import fold_name
from tests.imports.support import WORKS_FILE, execute, fetch, read_jsonl
from tests.imports.test_integrator_api import import_key
from tests.support import LiveServer, contract, count_statements

RESEARCHERS = """query($q: String!, $first: Int = 5) {
  researchers(search: $q, first: $first) { totalCount edges { node { id displayName } } }
}"""
WORKS = """query($q: String, $filter: WorkFilter, $first: Int = 5, $after: String) {
  works(search: $q, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id title topics(first: 10) { edges { node { displayName } } } } }
  }
}"""
FACETS = """query($q: String, $filter: WorkFilter) {
  works(search: $q, filter: $filter, first: 1) {
    totalCount
    facets {
      byYear(first: 50) { value label count }
      byType(first: 50) { value label count }
      byTopic(first: 50) { value label count }
      byVenue(first: 50) { value label count }
      byInstitution(first: 50) { value label count }
    }
  }
}"""
AUTHORS_OF = """query($q: String) {
  works(search: $q, first: 20) { edges { node { authorships { author { id } } } } }
}"""
SEARCH_BOX = """query($text: String!) {
  search(text: $text, first: 5) {
    edges { node { __typename ... on Researcher { displayName } ... on Work { title }
                   ... on Topic { displayName } ... on Institution { displayName }
                   ... on Venue { displayName } } }
  }
}"""

SEARCH_BOX_TOTAL = "query($q: String!) { search(text: $q) { totalCount } }"
EVERY_LIST_TOTAL = """query($q: String!) {
  researchers(search: $q) { totalCount } works(search: $q) { totalCount }
  topics(search: $q) { totalCount } institutions(search: $q) { totalCount }
  venues(search: $q) { totalCount }
}"""


def answer(live: LiveServer, query: str, **variables: Any) -> dict[str, Any]:
    body = live.graphql(query, variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def names_found(live: LiveServer, text: str) -> list[str]:
    found = answer(live, RESEARCHERS, q=text)["researchers"]["edges"]
    return [edge["node"]["displayName"] for edge in found]


def titles_found(live: LiveServer, text: str, **variables: Any) -> list[str]:
    found = answer(live, WORKS, q=text, **variables)["works"]["edges"]
    return [edge["node"]["title"] for edge in found]


class TestNames:
    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("Salahedin Elkatatni", "Salaheldin Elkatatny"),  # two letters off, one missing
            ("Abdullatif Al Shuhail", "Abdullatif Al\u2010Shuhail"),  # a space for U+2010
            ("elkatatny", "Salaheldin Elkatatny"),  # the family name alone
        ],
    )
    def test_a_misspelled_name_finds_the_person_first(
        self, live: LiveServer, typed: str, expected: str
    ) -> None:
        assert names_found(live, typed)[0] == expected

    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("Piotr Kolaczek", "Piotr Ko\u0142aczek"),  # ł: no accent to strip, transliterated
            ("Stefan Schroder", "Stefan Schr\u00f6der"),
            ("Maria Laura Gomez Dacal", "Mar\u0131\u0301a Laura G\u00f3mez Dacal"),
            ("Yu-Shu Wu", "Yu\u2010Shu Wu"),  # ASCII hyphen for U+2010
            ("Korhan Ayranci", "Korhan Ayranc\u0131"),  # dotless i
            ("STEFAN SCHRÖDER", "Stefan Schr\u00f6der"),
        ],
    )
    def test_plain_spellings_match_names_with_diacritics_and_hyphens(
        self, live: LiveServer, typed: str, expected: str
    ) -> None:
        assert names_found(live, typed)[0] == expected

    @pytest.mark.parametrize("typed", ["Muhammad Irfan", "Irfan Muhammad", "Muhamad Irfan"])
    def test_a_full_name_finds_its_holders_not_every_namesake_of_one_word(
        self, live: LiveServer, typed: str
    ) -> None:
        # By the whole text's similarity alone, the 108 Muhammads of the KFUPM records matched.
        found = answer(live, RESEARCHERS, q=typed, first=50)["researchers"]
        names = [edge["node"]["displayName"] for edge in found["edges"]]
        assert names[0] == "Muhammad Irfan"
        assert found["totalCount"] == len(names) <= 3
        assert all("irfan" in fold_name(name) for name in names)

    def test_exact_and_prefix_matches_come_before_similar_names(self, live: LiveServer) -> None:
        found = names_found(live, "Mohamed Mahmoud")
        assert found[0] == "Mohamed Mahmoud"
        assert all(name.lower().startswith("mohamed") for name in found[:2])

    @pytest.mark.parametrize("text", ["petroleum", "king fahd", "mohamed"])
    def test_the_search_box_total_is_every_list_total_counted_at_once(
        self, live: LiveServer, text: str
    ) -> None:
        lists = answer(live, EVERY_LIST_TOTAL, q=text)
        with count_statements(live.engine) as executed:
            total = answer(live, SEARCH_BOX_TOTAL, q=text)["search"]["totalCount"]
        assert total == sum(found["totalCount"] for found in lists.values())
        assert sum(1 for found in lists.values() if found["totalCount"]) >= 2
        assert sum(1 for statement in executed if "count(" in statement.lower()) == 1

    def test_the_search_box_finds_a_person_by_a_misspelled_name(self, live: LiveServer) -> None:
        edges = answer(live, SEARCH_BOX, text="Salahedin Elkatatni")["search"]["edges"]
        assert edges[0]["node"] == {
            "__typename": "Researcher",
            "displayName": "Salaheldin Elkatatny",
        }


class TestWorks:
    @pytest.mark.parametrize(
        ("phrase", "title"),
        [
            (
                "insights into ichnological analysis",
                "Deep Learning Applications in Geosciences: Insights into Ichnological Analysis",
            ),
            ("shear bands polygonal", "Simulation of shear bands using polygonal particles"),
        ],
    )
    def test_a_phrase_from_a_title_finds_that_work_first(
        self, live: LiveServer, phrase: str, title: str
    ) -> None:
        assert titles_found(live, phrase)[0] == title

    def test_stemming_finds_other_forms_of_a_word(self, live: LiveServer) -> None:
        singular = answer(live, WORKS, q="simulation of shear band")["works"]
        assert singular["edges"][0]["node"]["title"] == (
            "Simulation of shear bands using polygonal particles"
        )

    def test_a_topic_name_finds_the_works_of_that_topic_first(
        self, live: LiveServer, imported_url: str
    ) -> None:
        topic = "Enhanced Oil Recovery Techniques"
        works = answer(live, WORKS, q=topic, first=10)["works"]
        for edge in works["edges"]:
            topics = [t["node"]["displayName"] for t in edge["node"]["topics"]["edges"]]
            assert topic in topics, edge["node"]["title"]
        (tagged,) = fetch(
            imported_url,
            "SELECT count(DISTINCT wt.work_id) FROM work_topics AS wt "
            "JOIN topics AS t ON t.id = wt.topic_id WHERE t.display_name = :name",
            name=topic,
        )
        assert works["totalCount"] >= tagged[0] > 10

    def test_the_search_box_finds_a_work_by_its_title(self, live: LiveServer) -> None:
        edges = answer(live, SEARCH_BOX, text="insights into ichnological analysis")
        titles = [e["node"].get("title") for e in edges["search"]["edges"]]
        assert "Deep Learning Applications in Geosciences: Insights into Ichnological Analysis" in (
            titles
        )


def every_work(live: LiveServer, text: str | None, filter: dict[str, Any]) -> list[int]:
    """The ids of every work the connection lists, page by page."""
    ids: list[int] = []
    after = None
    while True:
        works = answer(live, WORKS, q=text, filter=filter, first=100, after=after)["works"]
        ids += [from_global_id(e["node"]["id"], "Work")[1] for e in works["edges"]]
        if not works["pageInfo"]["hasNextPage"]:
            return ids
        after = works["pageInfo"]["endCursor"]


RECOUNTS = {
    "byYear": "SELECT CAST(w.publication_year AS TEXT), count(*) FROM works AS w "
    "WHERE w.id IN ({ids}) AND w.publication_year IS NOT NULL GROUP BY w.publication_year",
    "byType": "SELECT w.type, count(*) FROM works AS w WHERE w.id IN ({ids}) GROUP BY w.type",
    "byTopic": "SELECT wt.topic_id, count(DISTINCT wt.work_id) FROM work_topics AS wt "
    "WHERE wt.work_id IN ({ids}) GROUP BY wt.topic_id",
    "byVenue": "SELECT w.venue_id, count(*) FROM works AS w "
    "WHERE w.id IN ({ids}) AND w.venue_id IS NOT NULL GROUP BY w.venue_id",
    "byInstitution": "SELECT ai.institution_id, count(DISTINCT a.work_id) FROM authorships AS a "
    "JOIN authorship_institutions AS ai ON ai.authorship_id = a.id "
    "WHERE a.work_id IN ({ids}) GROUP BY ai.institution_id",
}
NODE_TYPES = {"byTopic": "Topic", "byVenue": "Venue", "byInstitution": "Institution"}


class TestFacets:
    @pytest.mark.parametrize(
        ("text", "years"),
        [("reservoir", (2015, 2022)), (None, (2019, 2020)), ("seismic inversion", (2000, 2030))],
    )
    def test_facet_counts_equal_a_recount_of_the_listed_works(
        self, live: LiveServer, imported_url: str, text: str | None, years: tuple[int, int]
    ) -> None:
        (topic,) = fetch(
            imported_url,
            "SELECT t.id FROM topics AS t JOIN work_topics AS wt ON wt.topic_id = t.id "
            "WHERE t.display_name = 'Hydrocarbon exploration and reservoir analysis' "
            "GROUP BY t.id",
        )
        filter = {
            "yearFrom": years[0],
            "yearTo": years[1],
            "topic": to_global_id("Topic", topic[0]),
        }
        listed = every_work(live, text, filter)
        assert len(listed) > 5
        works = answer(live, FACETS, q=text, filter=filter)["works"]
        assert works["totalCount"] == len(listed)
        ids = ",".join(map(str, listed))
        for facet, recount in RECOUNTS.items():
            node = NODE_TYPES.get(facet)
            # Most works first, ties by value; each facet keeps its 50 largest values.
            rows = sorted(fetch(imported_url, recount.format(ids=ids)), key=lambda r: (-r[1], r[0]))
            expected = [
                {"value": to_global_id(node, value) if node else str(value), "count": count}
                for value, count in rows[:50]
            ]
            given = [{"value": b["value"], "count": b["count"]} for b in works["facets"][facet]]
            assert given == expected, facet

    def test_years_outside_the_filter_are_not_counted(self, live: LiveServer) -> None:
        works = answer(live, FACETS, q="reservoir", filter={"yearFrom": 2020, "yearTo": 2021})
        years = {bucket["value"] for bucket in works["works"]["facets"]["byYear"]}
        assert years == {"2020", "2021"}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", fold_name(text))


class TestTopicsInTheText:
    """A work's text holds its topics' names beside its title and abstract (migration 0017):
    words split between them find it, and a renamed topic or a changed link is found by its
    new words at once (triggers, on both backends)."""

    def test_words_of_a_title_and_of_a_topic_find_the_work(
        self, unwindowed: LiveServer, imported_url: str
    ) -> None:
        rows = fetch(
            imported_url,
            "SELECT w.id, w.title, coalesce(w.abstract, ''), t.display_name FROM works AS w "
            "JOIN work_topics AS wt ON wt.work_id = w.id JOIN topics AS t ON t.id = wt.topic_id "
            "ORDER BY w.id, t.id",
        )
        topics: dict[int, list[str]] = {}
        for work, _, _, topic in rows:
            topics.setdefault(work, []).extend(_words(topic))
        for work, title, abstract, topic in rows:
            # A topic word no form of which is in the text; a title word in no topic's name.
            in_text = _words(f"{title} {abstract}")
            topic_word = next(
                (w for w in _words(topic) if len(w) >= 6 and not _shares_stem(w, in_text)), None
            )
            title_word = next(
                (w for w in _words(title) if len(w) >= 6 and not _shares_stem(w, topics[work])),
                None,
            )
            if topic_word and title_word:
                break
        else:
            pytest.fail("no work has such words")
        assert work in every_work(unwindowed, f"{title_word} {topic_word}", {})

    def test_a_renamed_topic_and_a_changed_link_are_found_at_once(
        self, unwindowed: LiveServer, imported_url: str
    ) -> None:
        topic, name = fetch(
            imported_url,
            "SELECT t.id, t.display_name FROM topics AS t WHERE EXISTS "
            "(SELECT 1 FROM work_topics AS wt WHERE wt.topic_id = t.id) ORDER BY t.id LIMIT 1",
        )[0]
        links = dict(
            fetch(
                imported_url,
                "SELECT work_id, score FROM work_topics WHERE topic_id = :topic",
                topic=topic,
            )
        )
        unlinked = min(links)
        execute(
            imported_url, "UPDATE topics SET display_name = 'Wombatology' WHERE id = :t", t=topic
        )
        try:
            assert sorted(every_work(unwindowed, "wombatology", {})) == sorted(links)
            execute(
                imported_url,
                "DELETE FROM work_topics WHERE work_id = :work AND topic_id = :topic",
                work=unlinked,
                topic=topic,
            )
            assert unlinked not in every_work(unwindowed, "wombatology", {})
            execute(
                imported_url,
                "INSERT INTO work_topics (work_id, topic_id, score) VALUES (:work, :topic, :score)",
                work=unlinked,
                topic=topic,
                score=links[unlinked],
            )
            assert sorted(every_work(unwindowed, "wombatology", {})) == sorted(links)
        finally:
            execute(
                imported_url, "UPDATE topics SET display_name = :n WHERE id = :t", n=name, t=topic
            )
        assert every_work(unwindowed, "wombatology", {}) == []


def _shares_stem(word: str, words: list[str]) -> bool:
    return any(other[:5] == word[:5] for other in words)


FILTERED = {
    "topic": "SELECT wt.work_id FROM work_topics AS wt WHERE wt.topic_id = :id",
    "venue": "SELECT w.id FROM works AS w WHERE w.venue_id = :id",
    "institution": "SELECT a.work_id FROM authorships AS a JOIN authorship_institutions AS ai "
    "ON ai.authorship_id = a.id WHERE ai.institution_id = :id",
    "author": "SELECT a.work_id FROM authorships AS a WHERE a.researcher_id = :id",
}
FACET_OF = {"topic": "byTopic", "venue": "byVenue", "institution": "byInstitution"}
TYPE_OF = {"topic": "Topic", "venue": "Venue", "institution": "Institution", "author": "Researcher"}


@pytest.fixture(scope="module")
def unfiltered_lists() -> dict[tuple[str, str], list[int]]:
    """Each server's and text's unfiltered list, walked once for the four filters."""
    return {}


class TestNarrowingFilters:
    """A topic, venue, institution or author filter keeps the text's matching and ranking:
    the list must be the unfiltered one, in the same order, less the works the filter leaves
    out."""

    @pytest.mark.parametrize("text", ["reservoir", "Enhanced Oil Recovery Techniques"])
    @pytest.mark.parametrize("kind", ["topic", "venue", "institution", "author"])
    def test_a_filter_keeps_the_unfiltered_order(
        self,
        unwindowed: LiveServer,
        imported_url: str,
        unfiltered_lists: dict[tuple[str, str], list[int]],
        text: str,
        kind: str,
    ) -> None:
        live = unwindowed  # "reservoir" matches more works than the default window holds
        key = (live.base_url, text)
        if key not in unfiltered_lists:
            unfiltered_lists[key] = every_work(live, text, {})
        unfiltered = unfiltered_lists[key]
        if kind == "author":
            first = answer(live, AUTHORS_OF, q=text)["works"]["edges"]
            value = max(
                (a["author"]["id"] for e in first for a in e["node"]["authorships"]),
                key=lambda author: sum(
                    a["author"]["id"] == author for e in first for a in e["node"]["authorships"]
                ),
            )
        else:
            value = answer(live, FACETS, q=text, filter={})["works"]["facets"][FACET_OF[kind]][0][
                "value"
            ]
        chosen = {
            row[0]
            for row in fetch(
                imported_url, FILTERED[kind], id=from_global_id(value, TYPE_OF[kind])[1]
            )
        }
        expected = [work for work in unfiltered if work in chosen]
        assert len(expected) >= 2
        assert every_work(live, text, {kind: value}) == expected

    def test_works_found_by_their_topic_alone_are_kept(
        self, live: LiveServer, imported_url: str
    ) -> None:
        """The case the filters' own topic check serves: works whose title and abstract lack
        the text, found because a topic of theirs is named by it."""
        text = "Enhanced Oil Recovery Techniques"
        (topic,) = fetch(imported_url, "SELECT id FROM topics WHERE display_name = :n", n=text)
        by_topic = every_work(live, text, {"topic": to_global_id("Topic", topic[0])})
        words = fetch(
            imported_url,
            "SELECT id FROM works WHERE lower(title || ' ' || coalesce(abstract, '')) "
            "NOT LIKE '%recover%'",
        )
        assert set(by_topic) & {row[0] for row in words}


class TestFreshness:
    def test_an_imported_work_is_found_at_once_and_an_update_by_its_new_title(
        self, live: LiveServer, imported_url: str
    ) -> None:
        record = copy.deepcopy(read_jsonl(WORKS_FILE)[0])
        record["id"] = "https://openalex.org/W9000000001"
        record["doi"] = None
        record["ids"] = {"openalex": record["id"]}
        record["title"] = record["display_name"] = "Zygomorphic quasicrystal lattices in carbonates"
        key = import_key(imported_url, "search-freshness")
        body = live.graphql(
            contract("import_works.graphql"),
            {"records": [record]},
            token=key,
            operation="ImportWorks",
        )
        assert body["data"]["importWorks"]["created"] == 1, body
        assert titles_found(live, "zygomorphic quasicrystal") == [record["title"]]

        record["title"] = record["display_name"] = "Heliotropic crystal lattices in carbonates"
        record["updated_date"] = "2030-01-01T00:00:00"
        body = live.graphql(
            contract("import_works.graphql"),
            {"records": [record]},
            token=key,
            operation="ImportWorks",
        )
        assert body["data"]["importWorks"]["updated"] == 1, body
        assert titles_found(live, "heliotropic crystal") == [record["title"]]
        assert titles_found(live, "zygomorphic quasicrystal") == []
