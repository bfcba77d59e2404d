"""Bad input gets a GraphQL error with a stable code, never a 500 or a stack trace."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.support import LiveServer, contract, errors_of

RESEARCHER = "query($id: ID!) { researcher(id: $id) { id displayName } }"
TOPICS_OF_FIRST_RESEARCHER = (
    "{ researchers(first: 1) { edges { node { topics { totalCount } } } } }"
)


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


class TestIds:
    def test_unknown_id_is_not_found(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(RESEARCHER, {"id": gid("Researcher", 999_999)})
        assert errors_of(body) == ["NOT_FOUND"]
        assert body["data"]["researcher"] is None

    @pytest.mark.parametrize(
        "value",
        ["not-an-id", "%%%", gid("Researcher", 0), base64.b64encode(b"Researcher:abc").decode()],
    )
    def test_malformed_id(self, demo_server: LiveServer, value: str) -> None:
        assert errors_of(demo_server.graphql(RESEARCHER, {"id": value})) == ["BAD_USER_INPUT"]

    def test_id_of_another_type(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(RESEARCHER, {"id": gid("Work", 1)})
        assert errors_of(body) == ["BAD_USER_INPUT"]

    def test_node_of_unknown_id_is_null(self, demo_server: LiveServer, seed_id: str) -> None:
        body = demo_server.graphql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }",
            {"ids": [seed_id, gid("Topic", 999_999)]},
        )
        assert "errors" not in body
        assert body["data"]["nodes"][0]["__typename"] == "Researcher"
        assert body["data"]["nodes"][1] is None

    def test_id_and_orcid_together(self, demo_server: LiveServer, seed_id: str) -> None:
        body = demo_server.graphql(
            'query($id: ID!) { researcher(id: $id, orcid: "0000-0001-7056-6323") { id } }',
            {"id": seed_id},
        )
        assert errors_of(body) == ["BAD_USER_INPUT"]


class TestLookup:
    def test_unknown_values_give_null(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(
            contract("researcher_lookup.graphql"),
            {"orcid": "0000-0001-7056-6323", "openalexId": "A5000180362"},
        )
        assert "errors" not in body
        assert body["data"] == {"byOrcid": None, "byOpenalex": None}

    def test_malformed_values(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(
            contract("researcher_lookup.graphql"),
            {"orcid": "0000-0001-7056-6324", "openalexId": "W123"},
        )
        assert sorted(errors_of(body)) == ["BAD_USER_INPUT", "BAD_USER_INPUT"]


class TestPageArguments:
    def test_first_over_the_cap(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql("{ researchers(first: 101) { totalCount } }")
        assert errors_of(body) == ["BAD_USER_INPUT"]

    def test_negative_first(self, demo_server: LiveServer) -> None:
        assert errors_of(demo_server.graphql("{ researchers(first: -1) { totalCount } }")) == [
            "BAD_USER_INPUT"
        ]

    def test_first_and_last(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql("{ researchers(first: 1, last: 1) { totalCount } }")
        assert errors_of(body) == ["BAD_USER_INPUT"]

    @pytest.mark.parametrize(
        "cursor",
        ["garbage", "WyJ3b3JrcyIsMjAyMiwxXQ", base64.b64encode(b'["name", 1, 2]').decode()],
    )
    def test_bad_cursor(self, demo_server: LiveServer, cursor: str) -> None:
        body = demo_server.graphql(
            "query($c: String) { researchers(first: 2, after: $c) { totalCount } }",
            {"c": cursor},
        )
        assert errors_of(body) == ["BAD_USER_INPUT"]

    def test_variable_of_wrong_type(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(
            "query($n: Int) { researchers(first: $n) { totalCount } }", {"n": "ten"}
        )
        assert errors_of(body) == ["BAD_USER_INPUT"]


class TestDocuments:
    def test_syntax_error(self, demo_server: LiveServer) -> None:
        assert errors_of(demo_server.graphql("{ researchers(")) == ["GRAPHQL_PARSE_FAILED"]

    def test_unknown_field(self, demo_server: LiveServer) -> None:
        assert errors_of(demo_server.graphql("{ password }")) == ["GRAPHQL_VALIDATION_FAILED"]


class TestHttp:
    def test_body_over_the_limit_is_413(self, demo_server: LiveServer) -> None:
        padding = " " * (300 * 1024)
        with demo_server.client() as client:
            response = client.post("/graphql", json={"query": "{ __typename }" + padding})
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    def test_streamed_body_over_the_limit_is_413(self, demo_server: LiveServer) -> None:
        def chunks() -> Iterator[bytes]:
            for _ in range(100):
                yield b"x" * 4096

        with demo_server.client() as client:
            response = client.post(
                "/graphql", content=chunks(), headers={"content-type": "application/json"}
            )
        assert response.status_code == 413

    def test_malformed_json_is_a_json_error(self, demo_server: LiveServer) -> None:
        with demo_server.client() as client:
            response = client.post(
                "/graphql", content=b"{not json", headers={"content-type": "application/json"}
            )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

    def test_query_over_get(self, demo_server: LiveServer) -> None:
        with demo_server.client() as client:
            response = client.get("/graphql", params={"query": "{ researchers { totalCount } }"})
        assert response.status_code == 200
        assert response.json()["data"]["researchers"]["totalCount"] == 9


class TestMasking:
    def test_unexpected_failure_is_masked(self, backend: str, empty_url: str) -> None:
        """A broken database (a table dropped behind the service's back) gives a generic error
        with a request id: no SQL, no stack trace, no 500."""
        import asyncio

        from sqlalchemy import text

        from service.app import create_app
        from service.db.engine import create_engine
        from tests.support import load_demo_into, serve, settings_for

        load_demo_into(empty_url)

        async def break_it() -> None:
            engine = create_engine(settings_for(empty_url))
            async with engine.begin() as connection:
                await connection.execute(text("DROP TABLE researcher_topics"))
            await engine.dispose()

        asyncio.run(break_it())
        with serve(create_app(settings_for(empty_url))) as server, server.client() as client:
            response = client.post("/graphql", json={"query": TOPICS_OF_FIRST_RESEARCHER})
        assert response.status_code == 200
        error = response.json()["errors"][0]
        assert error["message"] == "Internal server error."
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        text_body = response.text.lower()
        assert "researcher_topics" not in text_body
        assert "traceback" not in text_body
