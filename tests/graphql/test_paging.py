from __future__ import annotations

from typing import Any

from tests.support import LiveServer

PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  researchers(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { displayName } }
  }
}"""


def page(server: LiveServer, **variables: Any) -> dict[str, Any]:
    body = server.graphql(PAGE, variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["researchers"]
    return result


class TestKeysetPaging:
    def test_forward_through_everything(self, demo_server: LiveServer) -> None:
        names: list[str] = []
        after = None
        while True:
            result = page(demo_server, first=4, after=after)
            assert result["totalCount"] == 9
            names += [e["node"]["displayName"] for e in result["edges"]]
            if not result["pageInfo"]["hasNextPage"]:
                break
            after = result["pageInfo"]["endCursor"]
        assert len(names) == 9 == len(set(names))
        assert names == sorted(names, key=str.casefold)

    def test_backward_matches_forward(self, demo_server: LiveServer) -> None:
        everything = [e["node"]["displayName"] for e in page(demo_server, first=9)["edges"]]
        last_three = page(demo_server, last=3)
        assert [e["node"]["displayName"] for e in last_three["edges"]] == everything[-3:]
        assert last_three["pageInfo"]["hasPreviousPage"] is True
        before = page(demo_server, last=3, before=last_three["pageInfo"]["startCursor"])
        assert [e["node"]["displayName"] for e in before["edges"]] == everything[-6:-3]
        assert before["pageInfo"]["hasNextPage"] is True

    def test_cursor_of_an_edge_resumes_after_it(self, demo_server: LiveServer) -> None:
        first = page(demo_server, first=3)
        resumed = page(demo_server, first=2, after=first["edges"][1]["cursor"])
        assert resumed["edges"][0]["node"] == first["edges"][2]["node"]
        assert resumed["pageInfo"]["hasPreviousPage"] is True

    def test_empty_page(self, demo_server: LiveServer) -> None:
        result = page(demo_server, first=0)
        assert result["edges"] == []
        assert result["pageInfo"]["hasNextPage"] is True

    def test_search_is_accent_and_case_insensitive(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql('{ researchers(search: "KAÏYUE") { totalCount } }')
        assert body["data"]["researchers"]["totalCount"] == 1

    def test_search_wildcards_are_literal(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql('{ researchers(search: "%") { totalCount } }')
        assert body["data"]["researchers"]["totalCount"] == 0

    def test_nested_works_paging(self, demo_server: LiveServer) -> None:
        query = """query($after: String) { researchers(search: "Zexiang") { edges { node {
          works(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
            edges { node { title publicationYear } } } } } } }"""
        seen: list[tuple[int, str]] = []
        after = None
        while True:
            body = demo_server.graphql(query, {"after": after})
            works = body["data"]["researchers"]["edges"][0]["node"]["works"]
            assert works["totalCount"] == 4
            seen += [(e["node"]["publicationYear"], e["node"]["title"]) for e in works["edges"]]
            if not works["pageInfo"]["hasNextPage"]:
                break
            after = works["pageInfo"]["endCursor"]
        assert len(seen) == 4 == len(set(seen))
        assert [y for y, _ in seen] == sorted((y for y, _ in seen), reverse=True)
