"""The collaborator graph over GraphQL on a real uvicorn: clusters, close collaborators with
their reasons, co-authors, and the graph slice contract around the seed researcher."""

from __future__ import annotations

import base64
from typing import Any

from tests.support import LiveServer, contract, count_statements

CLUSTER = """
query($id: ID!) {
  researcher(id: $id) {
    id
    counts { closeCollaborators }
    cluster {
      id size
      members(first: 50) { totalCount edges { node { id displayName } } }
      topTopics(first: 3) { displayName }
    }
    closeCollaborators(first: 10) {
      totalCount
      edges { weight node { id } reason { jointWorks sharedCluster summary } }
    }
    coauthors(first: 20) {
      totalCount
      pageInfo { hasNextPage }
      edges { weight node { id } reason { jointWorks sharedCluster } }
    }
  }
}
"""


def seed(server: LiveServer, seed_id: str) -> dict[str, Any]:
    body = server.graphql(CLUSTER, {"id": seed_id})
    assert "errors" not in body, body
    researcher: dict[str, Any] = body["data"]["researcher"]
    return researcher


def decoded(global_id: str) -> tuple[str, int]:
    kind, _, pk = base64.b64decode(global_id).decode().partition(":")
    return kind, int(pk)


class TestCollaborators:
    def test_cluster_members_and_top_topics(self, demo_server: LiveServer, seed_id: str) -> None:
        researcher = seed(demo_server, seed_id)
        cluster = researcher["cluster"]
        members = [e["node"]["id"] for e in cluster["members"]["edges"]]
        assert seed_id in members
        assert cluster["size"] == cluster["members"]["totalCount"] == len(members) >= 2
        assert cluster["topTopics"], "members' works have topics"
        # Close collaborators are exactly the co-authors among the cluster's members.
        close = {e["node"]["id"] for e in researcher["closeCollaborators"]["edges"]}
        coauthors = {e["node"]["id"] for e in researcher["coauthors"]["edges"]}
        assert close == coauthors & set(members)
        assert researcher["counts"]["closeCollaborators"] == len(close) == 4  # the seed page

    def test_collaborators_ranked_by_weight_with_reasons(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        researcher = seed(demo_server, seed_id)
        edges = researcher["coauthors"]["edges"]
        assert researcher["coauthors"]["totalCount"] == len(edges) > 4
        weights = [e["weight"] for e in edges]
        assert weights == sorted(weights, reverse=True)
        close = {e["node"]["id"] for e in researcher["closeCollaborators"]["edges"]}
        for edge in edges:
            reason = edge["reason"]
            assert reason["jointWorks"] >= 1
            assert reason["sharedCluster"] == (edge["node"]["id"] in close)
            # Newman: each joint work adds 1/(authors - 1) <= 1.
            assert edge["weight"] <= reason["jointWorks"] + 1e-9
        first = researcher["closeCollaborators"]["edges"][0]["reason"]
        assert first["sharedCluster"] and first["summary"].endswith("same collaborator cluster")

    def test_statements_do_not_grow_with_collaborators(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        query = """
        query($id: ID!, $n: Int!) {
          researcher(id: $id) {
            cluster { members(first: $n) { edges { node { id } } } topTopics { id } }
            coauthors(first: $n) { edges { node { id } reason { jointWorks } } }
          }
        }
        """
        counts = []
        for n in (1, 20):
            with count_statements(demo_server.engine) as executed:
                assert "errors" not in demo_server.graphql(query, {"id": seed_id, "n": n})
            counts.append(len(executed))
        assert counts[0] == counts[1] <= 8
        with count_statements(demo_server.engine) as executed:
            assert "errors" not in demo_server.graphql(CLUSTER, {"id": seed_id})
        assert len(executed) <= 14


class TestGraphSlice:
    def test_contract_query_around_the_seed(self, demo_server: LiveServer, seed_id: str) -> None:
        body = demo_server.graphql(contract("graph_slice.graphql"), {"id": seed_id})
        assert "errors" not in body, body
        graph = body["data"]["graphSlice"]
        nodes = {n["id"]: n for n in graph["nodes"]}
        assert graph["nodes"][0]["id"] == seed_id  # the center, most relevant
        scores = [n["score"] for n in graph["nodes"]]
        assert scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-9
        kinds = {n["node"]["__typename"] for n in graph["nodes"]}
        assert {"Researcher", "Work", "Topic"} <= kinds
        by_kind: dict[str, set[str]] = {}
        for edge in graph["edges"]:
            assert edge["source"] in nodes and edge["target"] in nodes
            by_kind.setdefault(edge["kind"], set()).add(edge["source"])
        # Its co-authors, its work and that work's topic, and the edges between them.
        assert {"COAUTHOR", "AUTHORED", "HAS_TOPIC"} <= by_kind.keys()
        authored = [e for e in graph["edges"] if e["kind"] == "AUTHORED"]
        assert any(e["source"] == seed_id for e in authored)
        seed_work = next(e["target"] for e in authored if e["source"] == seed_id)
        assert nodes[seed_work]["node"]["title"].startswith("Neural Architecture Search")
        assert any(e["kind"] == "HAS_TOPIC" and e["source"] == seed_work for e in graph["edges"])
        for edge in graph["edges"]:
            kinds_of = (decoded(edge["source"])[0], decoded(edge["target"])[0])
            assert (
                kinds_of
                == {
                    "COAUTHOR": ("Researcher", "Researcher"),
                    "AUTHORED": ("Researcher", "Work"),
                    "HAS_TOPIC": (kinds_of[0], "Topic"),
                    "AFFILIATED": ("Researcher", "Institution"),
                }[edge["kind"]]
            )
            if edge["kind"] == "COAUTHOR":
                assert decoded(edge["source"])[1] < decoded(edge["target"])[1]

    def test_cut_at_limit_sets_truncated(self, demo_server: LiveServer, seed_id: str) -> None:
        query = contract("graph_slice.graphql")
        whole = demo_server.graphql(query, {"id": seed_id, "limit": 200})["data"]["graphSlice"]
        cut = demo_server.graphql(query, {"id": seed_id, "limit": 5})["data"]["graphSlice"]
        assert len(cut["nodes"]) == 5 < len(whole["nodes"])
        assert cut["truncated"]
        # A smaller limit also expands fewer nodes per hop: a subset, the center first.
        assert cut["nodes"][0]["id"] == seed_id
        assert {n["id"] for n in cut["nodes"]} <= {n["id"] for n in whole["nodes"]}
        kept = {n["id"] for n in cut["nodes"]}
        assert all(e["source"] in kept and e["target"] in kept for e in cut["edges"])
        one_hop = demo_server.graphql(query, {"id": seed_id, "depth": 1, "limit": 200})
        assert len(one_hop["data"]["graphSlice"]["nodes"]) < len(whole["nodes"])

    def test_bad_arguments_are_user_errors(self, demo_server: LiveServer, seed_id: str) -> None:
        query = contract("graph_slice.graphql")
        for variables, code in (
            ({"id": seed_id, "depth": 0}, "BAD_USER_INPUT"),
            ({"id": seed_id, "depth": 4}, "BAD_USER_INPUT"),
            ({"id": seed_id, "limit": 201}, "BAD_USER_INPUT"),
            ({"id": "not-an-id"}, "BAD_USER_INPUT"),
            ({"id": base64.b64encode(b"Researcher:999999").decode()}, "NOT_FOUND"),
        ):
            body = demo_server.graphql(query, variables)
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == code, (variables, body)

    def test_statements_do_not_grow_with_the_limit(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        query = contract("graph_slice.graphql")
        counts = []
        for limit in (10, 200):
            with count_statements(demo_server.engine) as executed:
                body = demo_server.graphql(query, {"id": seed_id, "limit": limit})
            assert "errors" not in body
            counts.append(len(executed))
        assert counts[0] == counts[1] <= 30
