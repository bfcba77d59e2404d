"""The seed profile page (the real page the demo reproduces) from the client's profile query, on
demo data loaded through the real code path, on each backend."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import DATA, LiveServer, contract

SEED_WORK = json.loads((DATA / "openalex/arxiv-2207.13955-metadata.json").read_text())


@pytest.fixture(scope="module")
def page(demo_server: LiveServer, seed_id: str) -> dict[str, Any]:
    body = demo_server.graphql(contract("profile_page.graphql"), {"id": seed_id})
    assert "errors" not in body
    researcher: dict[str, Any] = body["data"]["researcher"]
    return researcher


class TestSeedProfilePage:
    def test_search_finds_the_seed_researcher(self, demo_server: LiveServer) -> None:
        body = demo_server.graphql(contract("researcher_search.graphql"), {"q": "Kaiyue Lu"})
        result = body["data"]["researchers"]
        assert result["totalCount"] == 1
        node = result["edges"][0]["node"]
        assert node["displayName"] == "Kaiyue Lu"
        assert node["affiliation"] is None
        assert node["counts"] == {"works": 1}

    def test_header(self, page: dict[str, Any]) -> None:
        assert page["displayName"] == "Kaiyue Lu"
        assert page["description"] == (
            "Kaiyue Lu contributes to research discovery and scholarly infrastructure."
        )
        assert page["affiliation"] is None
        assert page["openToCollaborate"] is True

    def test_trust_snapshot(self, page: dict[str, Any]) -> None:
        trust = page["trust"]
        assert (trust["score"], trust["band"], trust["verificationLevel"], trust["claimed"]) == (
            11,
            "UNVERIFIED",
            "L1",
            False,
        )
        assert sum(f["points"] for f in trust["factors"]) == 11
        assert {f["key"]: f["points"] for f in trust["factors"]} == {
            "verification": 5,
            "publications": 4,
            "collaboration": 2,
            "followers": 0,
        }

    def test_counts(self, page: dict[str, Any]) -> None:
        assert page["counts"] == {"works": 1, "followers": 0, "topics": 1, "closeCollaborators": 4}

    def test_anonymous_viewer(self, page: dict[str, Any]) -> None:
        assert page["viewerFollows"] is False
        assert page["viewerCanClaim"] is False

    def test_published_work(self, page: dict[str, Any]) -> None:
        works = page["works"]
        assert works["totalCount"] == 1
        assert works["pageInfo"]["hasNextPage"] is False
        (edge,) = works["edges"]
        work = edge["node"]
        assert work["type"] == "PREPRINT"
        assert work["publicationYear"] == 2022
        assert work["venue"]["displayName"] == "arXiv"
        assert work["title"] == SEED_WORK["title"]
        assert work["abstract"] == SEED_WORK["abstract"]
        assert work["arxivId"] == "2207.13955"

    def test_topics_and_close_collaborators(self, page: dict[str, Any]) -> None:
        assert len(page["topics"]["edges"]) == 1
        names = {e["node"]["displayName"] for e in page["closeCollaborators"]["edges"]}
        coauthors = set(SEED_WORK["authors_in_order"]) - {"Kaiyue Lu"}
        assert len(names) == 4
        assert names < coauthors
        weights = [e["weight"] for e in page["closeCollaborators"]["edges"]]
        assert weights == sorted(weights, reverse=True)
        assert all(e["node"]["trust"]["band"] for e in page["closeCollaborators"]["edges"])

    def test_seed_work_authors_in_order(
        self, demo_server: LiveServer, page: dict[str, Any]
    ) -> None:
        work_id = page["works"]["edges"][0]["node"]["id"]
        body = demo_server.graphql(
            "query($id: ID!) { work(id: $id) { authorships { position author { displayName } } } }",
            {"id": work_id},
        )
        authorships = body["data"]["work"]["authorships"]
        assert [a["author"]["displayName"] for a in authorships] == SEED_WORK["authors_in_order"]
        assert [a["position"] for a in authorships] == list(range(1, 8))
