from __future__ import annotations

from tests.support import LiveServer, contract, errors_of


def nested(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = (
            f"works(first: 1) {{ edges {{ node {{ authorships {{ author {{ {inner} }} }} }} }} }}"
        )
    return "query($id: ID!) { researcher(id: $id) { " + inner + " } }"


class TestLimits:
    def test_contract_queries_are_within_limits(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        for name in ("profile_page.graphql", "integrator_nested.graphql"):
            assert "errors" not in demo_server.graphql(contract(name), {"id": seed_id})

    def test_depth(self, demo_server: LiveServer, seed_id: str) -> None:
        body = demo_server.graphql(nested(3), {"id": seed_id})
        assert errors_of(body) == ["QUERY_TOO_COMPLEX"]

    def test_aliases(self, demo_server: LiveServer) -> None:
        query = "{ " + " ".join(f"a{i}: researchers {{ totalCount }}" for i in range(40)) + " }"
        assert "QUERY_TOO_COMPLEX" in errors_of(demo_server.graphql(query))

    def test_tokens(self, demo_server: LiveServer) -> None:
        query = "{ researchers { " + "totalCount " * 4000 + "} }"
        assert errors_of(demo_server.graphql(query)) == ["QUERY_TOO_COMPLEX"]

    def test_fan_out_cost(self, demo_server: LiveServer, seed_id: str) -> None:
        query = """query($id: ID!, $n: Int) { researcher(id: $id) {
          works(first: $n) { edges { node { authorships { author {
            works(first: $n) { edges { node { topics(first: $n) { edges { node { id } } } } } }
          } } } } } } }"""
        ok = demo_server.graphql(query, {"id": seed_id, "n": 5})
        assert "errors" not in ok
        body = demo_server.graphql(query, {"id": seed_id, "n": 100})
        assert errors_of(body) == ["QUERY_TOO_COMPLEX"]
        assert body["errors"][0]["extensions"]["cost"] > body["errors"][0]["extensions"]["maxCost"]

    def test_cost_counts_variable_defaults(self, demo_server: LiveServer, seed_id: str) -> None:
        query = """query($id: ID!, $n: Int = 100) { researcher(id: $id) {
          works(first: $n) { edges { node { topics(first: $n) { edges { node {
            id } } } } } } } }"""
        body = demo_server.graphql(query, {"id": seed_id})
        assert errors_of(body) == ["QUERY_TOO_COMPLEX"]
