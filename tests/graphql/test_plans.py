"""Compiled plans answer exactly as the general path: the same bytes, errors included.

One real server answers both ways: the client document as kept (its plan answers, once the
general path has admitted it) and the same document with a trailing newline (a text no plan
knows, so GraphQL execution answers). ``/metrics`` counts the plan's answers, so each test also
shows which path answered."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from service.app import create_app
from service.claims.models import Claim, ClaimMethod, ClaimStatus
from service.db.base import utcnow
from service.db.engine import create_engine, create_sessionmaker
from service.follows.models import Follow
from service.graphql.relay import from_global_id, to_global_id
from service.graphql.schema import PLANS
from service.researchers.models import Researcher
from service.trust.models import TrustSnapshot
from tests.events.population import add_researchers, add_work, confirmed_accounts
from tests.support import LiveServer, contract, serve, settings_for

PROFILE_PAGE = contract("profile_page.graphql")
GENERAL = PROFILE_PAGE + "\n"
"""The same operation in a text no plan matches."""
PLANNED = re.compile(r'^bzpeer_graphql_planned_answers_total\{operation="(\w+)"\} (\S+)$', re.M)


def post(
    server: LiveServer, query: str, variables: Any, token: str | None = None, **body: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with server.client() as client:
        return client.post(
            "/graphql", json={"query": query, "variables": variables, **body}, headers=headers
        )


def planned_answers(server: LiveServer) -> float:
    with server.client() as client:
        text = client.get("/metrics").text
    return sum(float(value) for _, value in PLANNED.findall(text))


def assert_same_answer(planned: httpx.Response, general: httpx.Response) -> None:
    assert planned.status_code == general.status_code
    assert planned.headers["content-type"] == general.headers["content-type"]
    assert planned.content == general.content


def compare(server: LiveServer, variables: Any, token: str | None = None) -> dict[str, Any]:
    planned = post(server, PROFILE_PAGE, variables, token)
    general = post(server, GENERAL, variables, token)
    assert_same_answer(planned, general)
    body: dict[str, Any] = planned.json()
    return body


def every_researcher(server: LiveServer) -> list[str]:
    body = server.graphql("{ researchers(first: 100) { totalCount edges { node { id } } } }")
    connection = body["data"]["researchers"]
    assert connection["totalCount"] == len(connection["edges"])  # the demo fits one page
    return [edge["node"]["id"] for edge in connection["edges"]]


def admit(server: LiveServer, researcher_id: str) -> None:
    assert "errors" not in post(server, PROFILE_PAGE, {"id": researcher_id}).json()


def test_every_client_document_with_a_plan_is_tested_here() -> None:
    # integrator_nested: test_integrator_plan.py; researcher_search, works_search and
    # search_box: tests/search/test_search_plan.py
    assert [plan.document for plan in PLANS] == [
        "profile_page",
        "integrator_nested",
        "researcher_search",
        "works_search",
        "search_box",
    ]


@pytest.mark.parametrize(
    ("name", "operation", "planned"),
    [
        ("profile_page.graphql", "ProfilePage", 1),
        ("graph_slice.graphql", "ResearchGraph", 0),
        ("integrator_nested.graphql", "IntegratorNested", "on PostgreSQL"),
        ("researcher_lookup.graphql", "ResearcherLookup", 0),
        ("researcher_search.graphql", "ResearcherSearch", 1),
        ("viewer_actions.graphql", "Viewer", 0),
        ("works_search.graphql", "WorksSearch", 1),
        ("search_box.graphql", "SearchBox", 1),
    ],
)
def test_every_client_query_answers_alike_either_way(
    demo_server: LiveServer,
    backend: str,
    seed_id: str,
    name: str,
    operation: str,
    planned: int | str,
) -> None:
    """Every query document the clients send, as kept and in a text no plan knows: the same
    bytes; only the planned ones are answered by their plans (the integrator's on PostgreSQL
    only: on SQLite it declines)."""
    if planned == "on PostgreSQL":
        planned = int(backend == "postgresql")
    query = contract(name)
    variables = {"id": seed_id, "q": "Lu", "text": "Lu", "orcid": "0000-0002-1825-0097"}
    used = {k: v for k, v in variables.items() if f"${k}" in query}
    post(demo_server, query, used, operationName=operation)  # admits a planned document
    before = planned_answers(demo_server)
    kept = post(demo_server, query, used, operationName=operation)
    general = post(demo_server, query + "\n", used, operationName=operation)
    assert_same_answer(kept, general)
    assert "errors" not in kept.json()
    assert planned_answers(demo_server) - before == planned


class TestProfilePageAnonymous:
    def test_every_demo_researcher_gets_the_same_bytes(self, demo_server: LiveServer) -> None:
        ids = every_researcher(demo_server)
        admit(demo_server, ids[0])
        before = planned_answers(demo_server)
        pages = [compare(demo_server, {"id": i})["data"]["researcher"] for i in ids]
        assert planned_answers(demo_server) - before == len(ids)
        # The sample covers what the page can hold: with and without affiliation, trust,
        # works beyond a page, topics and close collaborators.
        assert {page["affiliation"] is None for page in pages} == {True, False}
        assert any(page["closeCollaborators"]["edges"] for page in pages)
        assert any(page["topics"]["edges"] for page in pages)
        assert {page["works"]["edges"][0]["node"]["venue"] is None for page in pages} == {
            True,
            False,
        }
        assert all(page["trust"] for page in pages)

    @pytest.mark.parametrize(
        ("variables", "body"),
        [
            ({"id": "not-base64!"}, {}),
            ({"id": to_global_id("Work", 1)}, {}),
            ({"id": to_global_id("Researcher", 987_654_321)}, {}),
            ({"id": to_global_id("Researcher", 0)}, {}),
            ({}, {}),
            ({"id": 7}, {}),
            (None, {}),
            ({"id": "ignored", "other": 1}, {}),
            ({"id": "cmVzZWFyY2hlcjox"}, {"operationName": "Other"}),
        ],
    )
    def test_what_the_plan_declines_the_general_path_answers(
        self, demo_server: LiveServer, seed_id: str, variables: Any, body: dict[str, Any]
    ) -> None:
        admit(demo_server, seed_id)
        before = planned_answers(demo_server)
        planned = post(demo_server, PROFILE_PAGE, variables, **body)
        general = post(demo_server, GENERAL, variables, **body)
        assert_same_answer(planned, general)
        assert planned_answers(demo_server) == before
        if variables == {"id": "ignored", "other": 1}:
            return  # a bad id, with an extra variable graphql-core ignores
        assert planned.json()["errors"]

    def test_extra_variables_are_left_to_the_general_path(
        self, demo_server: LiveServer, seed_id: str
    ) -> None:
        admit(demo_server, seed_id)
        before = planned_answers(demo_server)
        body = compare(demo_server, {"id": seed_id, "unused": True})
        assert body["data"]["researcher"]["id"] == seed_id
        assert planned_answers(demo_server) == before


class TestAdmission:
    @pytest.mark.parametrize("limit", [{"max_query_cost": 50}, {"max_query_depth": 3}])
    def test_a_document_over_the_limits_is_never_planned(
        self, demo_url: str, seed_id: str, limit: dict[str, int]
    ) -> None:
        """The plan skips execution, not the checks: a deployment whose limits refuse the
        profile page refuses it every time, its plan never answering."""
        settings = settings_for(demo_url, in_process_workers=False, **limit)
        with serve(create_app(settings)) as server:
            answers = [post(server, PROFILE_PAGE, {"id": seed_id}).json() for _ in range(3)]
            assert planned_answers(server) == 0
        for body in answers:
            assert body.get("data") is None
            assert {e["extensions"]["code"] for e in body["errors"]} == {"QUERY_TOO_COMPLEX"}


@pytest.fixture
def writable_server(fresh_demo_url: str) -> Iterator[LiveServer]:
    with serve(create_app(settings_for(fresh_demo_url, in_process_workers=False))) as server:
        yield server


async def _arrange(url: str, follower: int, claimant: int, holder: int, ids: list[int]) -> None:
    """``follower`` follows ids[0]; ``claimant`` has a pending claim on ids[1]; ``holder``
    verified ids[2] (and its trust says so); ids[3] is merged into ids[4]."""
    engine = create_engine(settings_for(url), maintenance=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add(Follow(account_id=follower, researcher_id=ids[0]))
            expires = utcnow() + dt.timedelta(days=1)
            for account, researcher, status in (
                (claimant, ids[1], ClaimStatus.PENDING),
                (holder, ids[2], ClaimStatus.VERIFIED),
            ):
                session.add(
                    Claim(
                        account_id=account,
                        researcher_id=researcher,
                        method=ClaimMethod.ORCID,
                        status=status,
                        expires_at=expires,
                    )
                )
            await session.execute(
                update(Researcher).where(Researcher.id == ids[3]).values(merged_into_id=ids[4])
            )
            # What the trust worker would write for the verified claim (no workers run here).
            await session.execute(
                update(TrustSnapshot)
                .where(TrustSnapshot.researcher_id == ids[2], TrustSnapshot.is_current)
                .values(claimed=True)
            )
    finally:
        await engine.dispose()


class TestProfilePageEdges:
    def test_empty_and_long_records_get_the_same_bytes(
        self, writable_server: LiveServer, fresh_demo_url: str
    ) -> None:
        settings = settings_for(fresh_demo_url)
        ids = every_researcher(writable_server)
        busy = from_global_id(ids[0], "Researcher")[1]
        for n in range(11):  # a second page of works, without year or venue
            add_work(settings, f"Untitled draft {n}", [busy])
        (lone,) = add_researchers(settings, ["Lone Researcher"])  # no work, trust or cluster
        admit(writable_server, ids[0])
        before = planned_answers(writable_server)
        long = compare(writable_server, {"id": ids[0]})["data"]["researcher"]
        empty = compare(writable_server, {"id": to_global_id("Researcher", lone)})
        assert planned_answers(writable_server) - before == 2
        assert long["works"]["pageInfo"]["hasNextPage"] is True
        assert long["works"]["totalCount"] > 10
        page = empty["data"]["researcher"]
        assert page["trust"] is None
        assert page["works"] == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "edges": [],
        }
        assert page["closeCollaborators"] == {"edges": []}


class TestProfilePageSignedIn:
    def test_viewers_get_the_same_bytes(
        self, writable_server: LiveServer, fresh_demo_url: str
    ) -> None:
        ids = every_researcher(writable_server)
        pks = _unclaimed(writable_server, ids)[:5]
        follower, claimant, holder, bystander = confirmed_accounts(settings_for(fresh_demo_url), 4)
        asyncio.run(
            _arrange(
                fresh_demo_url, follower.account_id, claimant.account_id, holder.account_id, pks
            )
        )
        admit(writable_server, ids[0])
        before = planned_answers(writable_server)
        seen: dict[str, set[bool]] = {
            "viewerFollows": set(),
            "viewerCanClaim": set(),
            "claimed": set(),
        }
        compared = 0
        for member in (follower, claimant, holder, bystander, None):
            token = member.token if member else None
            for pk in [*pks[:3], pks[4]]:
                page = compare(writable_server, {"id": to_global_id("Researcher", pk)}, token)
                compared += 1
                researcher = page["data"]["researcher"]
                seen["viewerFollows"].add(researcher["viewerFollows"])
                seen["viewerCanClaim"].add(researcher["viewerCanClaim"])
                seen["claimed"].add(researcher["trust"]["claimed"])
        assert all(values == {True, False} for values in seen.values()), seen
        assert planned_answers(writable_server) - before == compared
        # The merged record answers as its survivor, by the general path.
        merged = compare(writable_server, {"id": to_global_id("Researcher", pks[3])})
        assert merged["data"]["researcher"]["id"] == to_global_id("Researcher", pks[4])
        assert planned_answers(writable_server) - before == compared


def _unclaimed(server: LiveServer, ids: list[str]) -> list[int]:
    """The primary keys of the researchers nobody claims yet."""
    keys = []
    for global_id in ids:
        body = server.graphql(
            "query($id: ID!) { researcher(id: $id) { trust { claimed } } }", {"id": global_id}
        )
        if not body["data"]["researcher"]["trust"]["claimed"]:
            keys.append(from_global_id(global_id, "Researcher")[1])
    return keys
