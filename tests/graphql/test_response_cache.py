"""The response cache: its rules on change versions (in memory, as the embedded default keeps
them), and the embedded default serving from it while its own workers change what it shows.
The production shape (two API processes on Redis) is tests/live/test_response_cache.py."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from service.app import create_app
from service.graphql.relay import to_global_id
from service.graphql.response_cache import ResponseCache, ids_in
from service.live.invalidation import tags_of_events
from service.live.versions import EVERYTHING, MemoryVersions
from tests.events.deployment import FOLLOW
from tests.events.population import confirmed_accounts
from tests.live.client import Socket
from tests.support import LiveServer, contract, http_post, serve, settings_for

PROFILE_PAGE = contract("profile_page.graphql")
GRAPH_SLICE = contract("graph_slice.graphql")
FOLLOWER_UPDATES = contract("follower_updates.graphql")
CACHED = re.compile(r'^bzpeer_graphql_cached_answers_total\{operation="(\w+)"\} (\S+)$', re.M)
ANSWER = {"researcher": {"id": to_global_id("Researcher", 7), "works": [{"id": "V29yazo5"}]}}


def cache(entries: int = 10, ttl_s: float = 60) -> tuple[ResponseCache, MemoryVersions, bytes]:
    versions = MemoryVersions()
    responses = ResponseCache(versions, entries, ttl_s)
    key = responses.key(PROFILE_PAGE, "ProfilePage", {"id": "x"})
    assert key is not None
    return responses, versions, key


def answer(responses: ResponseCache, key: bytes) -> Any:
    found = asyncio.run(responses.get(key))
    return None if found is None else orjson.loads(found)


def stored(responses: ResponseCache, key: bytes, data: dict[str, Any] = ANSWER) -> bool:
    async def go() -> bool:
        ticket = await responses.ticket(key)
        assert ticket is not None
        return await responses.put(ticket, data, set())

    return asyncio.run(go())


def test_an_answer_goes_stale_with_any_entity_it_shows() -> None:
    responses, versions, key = cache()
    assert sorted(ids_in(ANSWER)) == ["Researcher:7", "Work:9"]
    for change in (["Researcher:7"], ["Work:9"], [EVERYTHING]):
        assert stored(responses, key)
        assert answer(responses, key) == ANSWER
        versions.bump(["Researcher:8", "Topic:7"])  # others: it stays
        assert answer(responses, key) == ANSWER
        versions.bump(change)
        assert asyncio.run(responses.get(key)) is None


def test_an_answer_computed_while_a_change_committed_is_not_stored() -> None:
    """The answer may have been read from a snapshot before the change; stored with the
    versions of after it, it would stay stale: the generation taken before refuses it."""
    responses, versions, key = cache()

    async def go() -> bool:
        ticket = await responses.ticket(key)
        assert ticket is not None
        versions.bump(["Institution:3"])  # any change at all, committed meanwhile
        return await responses.put(ticket, ANSWER, set())

    assert asyncio.run(go()) is False
    assert asyncio.run(responses.get(key)) is None


def test_what_the_resolvers_read_counts_too() -> None:
    responses, versions, key = cache()

    async def go() -> None:
        ticket = await responses.ticket(key)
        assert ticket is not None
        assert await responses.put(ticket, ANSWER, {"Researcher:99"})

    asyncio.run(go())
    versions.bump(["Researcher:99"])
    assert asyncio.run(responses.get(key)) is None


def test_entries_are_capped_and_expire() -> None:
    responses, _, _ = cache(entries=3, ttl_s=0.2)
    keys = [responses.key(PROFILE_PAGE, "ProfilePage", {"id": str(i)}) for i in range(5)]
    for key in keys:
        assert key is not None and stored(responses, key)
    assert len(responses) == 3
    assert keys[0] is not None and asyncio.run(responses.get(keys[0])) is None  # the oldest
    assert keys[4] is not None and answer(responses, keys[4]) == ANSWER
    time.sleep(0.25)
    assert asyncio.run(responses.get(keys[4])) is None


def test_only_the_kept_documents_are_cached() -> None:
    responses, _, _ = cache()
    assert responses.key(PROFILE_PAGE + "\n", "ProfilePage", {"id": "x"}) is None
    assert responses.key("{ researchers { totalCount } }", None, None) is None
    assert ResponseCache(MemoryVersions(), 0, 60).key(PROFILE_PAGE, None, {}) is None


@pytest.fixture
def embedded(fresh_demo_url: str) -> Iterator[LiveServer]:
    settings = settings_for(fresh_demo_url, in_process_workers=True, response_cache_entries=100)
    with serve(create_app(settings)) as server:
        yield server


def read(server: LiveServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = server.graphql(query, variables)
    assert "errors" not in body, body
    return dict(body["data"])


def cached_answers(server: LiveServer) -> float:
    with server.client() as client:
        return sum(float(v) for _, v in CACHED.findall(client.get("/metrics").text))


def test_the_embedded_default_serves_from_its_cache_and_never_stale(
    embedded: LiveServer, fresh_demo_url: str
) -> None:
    (member,) = confirmed_accounts(settings_for(fresh_demo_url), 1)
    seed = embedded.graphql('{ researchers(search: "Kaiyue Lu") { edges { node { id } } } }')
    seed_id = seed["data"]["researchers"]["edges"][0]["node"]["id"]
    page = read(embedded, PROFILE_PAGE, {"id": seed_id})
    slice_ = read(embedded, GRAPH_SLICE, {"id": seed_id})
    before = cached_answers(embedded)
    assert read(embedded, PROFILE_PAGE, {"id": seed_id}) == page
    assert read(embedded, GRAPH_SLICE, {"id": seed_id}) == slice_
    assert cached_answers(embedded) == before + 2
    with Socket(embedded.base_url) as socket:
        socket.init()
        socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed_id})
        assert socket.next_data("f", 15)["followerUpdates"]["followers"] == 0
        response = http_post(
            f"{embedded.base_url}/graphql",
            json={"query": FOLLOW, "variables": {"id": seed_id}},
            headers={"authorization": f"Bearer {member.token}"},
        )
        assert "errors" not in response.json()
        assert socket.next_data("f", 15)["followerUpdates"]["followers"] == 1
    assert read(embedded, PROFILE_PAGE, {"id": seed_id})["researcher"]["counts"]["followers"] == 1


@pytest.mark.parametrize(
    ("events", "tags"),
    [
        ([("researchers.updated", {"researcher_id": 5, "fields": ["description"]})], {"R5"}),
        ([("claims.verified", {"claim_id": 1, "researcher_id": 5})], {"R5"}),
        (
            [("vouches.created", {"researcher_id": 5}), ("claims.rejected", {"researcher_id": 6})],
            {"R5", "R6"},
        ),
        ([("follows.created", {"account_id": 1, "researcher_id": 5})], set()),
        ([("accounts.created", {"account_id": 1})], set()),
        ([("works.added", {"work_id": 9})], {EVERYTHING}),
        ([("clusters.changed", {"researcher_ids": [1, 2]})], {EVERYTHING}),
        ([("imports.completed", {"files": []})], {EVERYTHING}),
        ([("claims.verified", {"claim_id": 1})], {EVERYTHING}),  # says no researcher
        ([("a.newer.type", {"researcher_id": 5})], {EVERYTHING}),  # a newer producer's
    ],
)
def test_what_an_event_makes_stale(events: list[Any], tags: set[str]) -> None:
    expected = {t if t == EVERYTHING else f"Researcher:{t[1:]}" for t in tags}
    assert tags_of_events(events) == expected
