from __future__ import annotations

from graphql import GraphQLObjectType, build_schema, get_nullable_type, is_list_type

from service.graphql.limits import BOUNDED_BY_ARGUMENTS, LIST_BOUNDS
from tests.support import REPO, LiveServer, contract, errors_of


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
          works(first: $n) { edges { node { authorships { author {
            works(first: $n) { edges { node { title } } } } } } } } } }"""
        body = demo_server.graphql(query, {"id": seed_id})
        assert errors_of(body) == ["QUERY_TOO_COMPLEX"]
        assert "errors" not in demo_server.graphql(query, {"id": seed_id, "n": 5})


NESTED = (
    "works(first: 50) { edges { node { title topics(first: 50) { edges { node { "
    "displayName } } } } } }"
)
"""A selection that is cheap once and expensive a hundred times over."""


class TestEveryListCounts:
    """The same selection under each list of a hundred costs the same: the page, ``nodes``,
    a work's authors, a graph slice's nodes."""

    def cost(self, server: LiveServer, query: str, variables: dict[str, object]) -> int:
        body = server.graphql(query, variables)
        assert errors_of(body) == ["QUERY_TOO_COMPLEX"], body
        return int(body["errors"][0]["extensions"]["cost"])

    def test_under_every_list_of_a_hundred_the_same_cost(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        page = self.cost(
            demo_server,
            "{ researchers(first: 100) { edges { node { " + NESTED + " } } } }",
            {},
        )
        nodes = self.cost(
            demo_server,
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Researcher { " + NESTED + " } } }",
            {"ids": [seed_id] * 100},
        )
        authors = self.cost(
            demo_server,
            "query($id: ID!) { researcher(id: $id) { works(first: 1) { edges { node { "
            "authorships { author { " + NESTED + " } } } } } } }",
            {"id": seed_id},
        )
        slice_ = self.cost(
            demo_server,
            "query($id: ID!) { graphSlice(center: $id, limit: 100) { nodes { node { "
            "... on Researcher { " + NESTED + " } } } } }",
            {"id": seed_id},
        )
        # works, edges, node, title (50 each); topics, edges, node, displayName (50 x 50 each)
        inner = 4 * 50 + 4 * 50 * 50
        for cost in (page, nodes, authors, slice_):
            assert cost >= 100 * inner
        assert page == 3 * 100 + 100 * inner  # researchers, edges, node; then the selection
        assert nodes == 100 + 100 * inner

    def test_a_few_ids_cost_a_few_times(self, demo_server: LiveServer, seed_id: str) -> None:
        query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Researcher { " + NESTED + " } } }"
        assert "errors" not in demo_server.graphql(query, {"ids": [seed_id] * 3})

    def test_graph_slices_are_capped_per_operation(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        one = "graphSlice(center: $id, depth: 3, limit: 200) { nodes { id } edges { kind } }"
        thirty = "query($id: ID!) { " + " ".join(f"s{i}: {one}" for i in range(30)) + " }"
        body = demo_server.graphql(thirty, {"id": seed_id})
        assert errors_of(body) == ["QUERY_TOO_COMPLEX"]
        assert "graph slices" in body["errors"][0]["message"] and body["data"] is None
        two = "query($id: ID!) { " + " ".join(f"s{i}: {one}" for i in range(2)) + " }"
        assert "errors" not in demo_server.graphql(two, {"id": seed_id})

    def test_every_list_in_the_schema_has_a_bound(self) -> None:
        """A new list field must say what bounds it (a page size, or an entry in limits)."""
        schema = build_schema((REPO / "schema.graphql").read_text())
        unbounded = []
        for type_name, type_ in schema.type_map.items():
            if type_name.startswith("__") or not isinstance(type_, GraphQLObjectType):
                continue
            for name, field in type_.fields.items():
                listed = is_list_type(get_nullable_type(field.type))
                paged = {"first", "last"} & set(field.args)
                edges = type_name.endswith("Connection") and name == "edges"
                known = (type_name, name) in LIST_BOUNDS.keys() | BOUNDED_BY_ARGUMENTS
                if listed and not (paged or edges or known):
                    unbounded.append(f"{type_name}.{name}")
        assert unbounded == []
