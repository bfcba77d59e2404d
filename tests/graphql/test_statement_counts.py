"""The key queries run a fixed number of SQL statements whatever the page size (DataLoaders:
one batch per level, never one statement per row)."""

from __future__ import annotations

from typing import Any

from tests.support import LiveServer, contract, count_statements


def statements(server: LiveServer, query: str, variables: dict[str, Any]) -> int:
    with count_statements(server.engine) as executed:
        body = server.graphql(query, variables)
    assert "errors" not in body, body
    return len(executed)


def researcher_id(server: LiveServer, name: str) -> str:
    body = server.graphql(
        "query($q: String!) { researchers(search: $q) { edges { node { id } } } }", {"q": name}
    )
    return str(body["data"]["researchers"]["edges"][0]["node"]["id"])


class TestStatementCounts:
    def test_integrator_nested_does_not_grow_with_page_size(self, demo_server: LiveServer) -> None:
        rich = researcher_id(demo_server, "Zexiang Liu")  # 4 works, 2 to 7 authors each
        planned = contract("integrator_nested.graphql")
        general = planned + "\n"  # a text no compiled plan knows: GraphQL execution answers
        small = statements(demo_server, general, {"id": rich, "first": 1})
        large = statements(demo_server, general, {"id": rich, "first": 4})
        assert small == large
        assert large <= 12
        # The plan (PostgreSQL): one statement at any page size, once its size is admitted.
        for first in (1, 4):
            demo_server.graphql(planned, {"id": rich, "first": first})
        counts = {statements(demo_server, planned, {"id": rich, "first": n}) for n in (1, 4)}
        assert counts == ({1} if demo_server.engine.dialect.name == "postgresql" else {large})

    def test_profile_page_same_for_small_and_large_profiles(self, demo_server: LiveServer) -> None:
        planned = contract("profile_page.graphql")
        general = planned + "\n"  # a text no compiled plan knows: GraphQL execution answers
        # Mei Tanaka has an affiliation: it comes with the researcher's own statement.
        names = ("Kaiyue Lu", "Zexiang Liu", "Mei Tanaka")
        ids = [researcher_id(demo_server, name) for name in names]
        demo_server.graphql(planned, {"id": ids[0]})  # the general path admits the plan
        # The plan: one statement on PostgreSQL; four and BEGIN on SQLite.
        planned_most = 1 if demo_server.engine.dialect.name == "postgresql" else 5
        general_counts = {statements(demo_server, general, {"id": i}) for i in ids}
        assert len(general_counts) == 1
        assert general_counts.pop() <= 6
        assert {statements(demo_server, planned, {"id": i}) for i in ids} == {planned_most}

    def test_search_page_does_not_grow_with_page_size(self, demo_server: LiveServer) -> None:
        query = contract("researcher_search.graphql")
        few = statements(demo_server, query, {"q": "", "first": 2})
        many = statements(demo_server, query, {"q": "", "first": 9})
        assert few == many
        # A text search counts its matches in the page's own statement.
        counts = {statements(demo_server, query, {"q": "liu", "first": n}) for n in (1, 5)}
        assert len(counts) == 1 and counts.pop() <= 5

    def test_works_search_with_facets_does_not_grow_with_page_size(
        self, demo_server: LiveServer
    ) -> None:
        query = contract("works_search.graphql")
        for text in (None, "graph"):
            counts = [statements(demo_server, query, {"q": text, "first": n}) for n in (1, 10)]
            # page (with its count when searching), count, the five facets in one statement,
            # then one batch per level: works, venues, authorships, authors (their trust and
            # affiliation joined in)
            assert counts[0] == counts[1] <= 8, (text, counts)

    def test_search_box_does_not_grow_with_page_size(self, demo_server: LiveServer) -> None:
        query = contract("search_box.graphql")
        counts = [statements(demo_server, query, {"text": "li", "first": n}) for n in (1, 8, 30)]
        # The kinds' best hits in one statement (on PostgreSQL the researchers of a one-word
        # text apart, in up to three), then one batch per kind shown: more rows add kinds at
        # most, never statements per row.
        assert max(counts) <= 6, counts
