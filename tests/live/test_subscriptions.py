"""followerUpdates and trustUpdates in the embedded default (in-process workers and pub/sub),
with a real client over a real uvicorn, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from service.app import create_app
from service.graphql.relay import to_global_id
from service.live.hub import LiveHub
from service.live.topics import Topic
from tests.events.population import confirmed_accounts, sql
from tests.live.client import Socket
from tests.support import (
    LiveServer,
    contract,
    count_statements,
    eventually,
    serve,
    settings_for,
)

FOLLOWER_UPDATES = contract("follower_updates.graphql")
TRUST_UPDATES = contract("trust_updates.graphql")
FOLLOW = "mutation($id: ID!) { follow(input: {researcherId: $id}) { researcher { id } } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {researcherId: $id}) { researcher { id } } }"


@pytest.fixture
def server(fresh_demo_url: str) -> Iterator[LiveServer]:
    with serve(create_app(settings_for(fresh_demo_url))) as server:
        yield server


def followers_of(data: dict[str, Any]) -> int:
    update = data["followerUpdates"]
    assert update["researcher"]["counts"]["followers"] == update["followers"]
    return int(update["followers"])


def factor(trust: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in trust["factors"] if f["key"] == key]
    assert len(found) == 1, trust
    return found[0]


def test_a_subscriber_sees_followers_go_0_1_0_and_trust_with_them(
    server: LiveServer, fresh_demo_url: str, seed_id: str
) -> None:
    (member,) = confirmed_accounts(settings_for(fresh_demo_url), 1)
    with Socket(server.base_url) as socket:
        assert socket.init() == {"type": "connection_ack"}
        socket.subscribe("followers", FOLLOWER_UPDATES, {"id": seed_id})
        socket.subscribe("trust", TRUST_UPDATES, {"id": seed_id})
        assert followers_of(socket.next_data("followers")) == 0
        before = socket.next_data("trust")["trustUpdates"]
        assert (before["score"], before["band"], before["verificationLevel"]) == (
            11,
            "UNVERIFIED",
            "L1",
        )
        assert factor(before, "followers")["detail"].startswith("0 followers")

        body = server.graphql(FOLLOW, {"id": seed_id}, token=member.token)
        assert "errors" not in body, body
        assert followers_of(socket.next_data("followers")) == 1
        after_follow = socket.next_data("trust")["trustUpdates"]
        assert factor(after_follow, "followers")["detail"].startswith("1 follower")

        body = server.graphql(UNFOLLOW, {"id": seed_id}, token=member.token)
        assert "errors" not in body, body
        assert followers_of(socket.next_data("followers")) == 0
        after_unfollow = socket.next_data("trust")["trustUpdates"]
        assert after_unfollow == before
        assert socket.quiet(0.5) == []  # one message per change, no repeats


def test_many_subscribers_cost_one_read_per_change(
    server: LiveServer, fresh_demo_url: str, seed_id: str
) -> None:
    (member,) = confirmed_accounts(settings_for(fresh_demo_url), 1)
    hub: LiveHub = server.app.state.live
    sockets = [Socket(server.base_url) for _ in range(20)]
    try:
        for socket in sockets:
            socket.init()
            socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed_id})
        for socket in sockets:
            assert followers_of(socket.next_data("f")) == 0
        reads_before = hub.reads
        with count_statements(server.engine) as statements:
            assert "errors" not in server.graphql(FOLLOW, {"id": seed_id}, token=member.token)
            for socket in sockets:
                assert followers_of(socket.next_data("f")) == 1
        researcher_reads = [
            s for s in statements if s.lstrip().upper().startswith("SELECT") and "researchers" in s
        ]
        # The follow mutation reads the researcher twice (before and after the change); every
        # subscriber together adds one read, whatever their number.
        assert hub.reads - reads_before == 1
        assert len(researcher_reads) <= 3, researcher_reads
    finally:
        for socket in sockets:
            socket.close()


def test_identical_subscriptions_share_one_execution_per_viewer(
    server: LiveServer, fresh_demo_url: str, seed_id: str
) -> None:
    settings = settings_for(fresh_demo_url)
    (member,) = confirmed_accounts(settings, 1)
    assert "errors" not in server.graphql(FOLLOW, {"id": seed_id}, token=member.token)
    hub: LiveHub = server.app.state.live
    seed_pk = int(base64.b64decode(seed_id).decode().split(":")[1])

    def follow_applied() -> None:
        ((count,),) = sql(settings, f"SELECT followers_count FROM researchers WHERE id = {seed_pk}")
        assert count == 1

    # The worker applies the follow after the mutation answers: subscribe once it has, so that
    # every socket's first value is 1.
    eventually(follow_applied)
    viewer_follows = (
        "subscription($id: ID!) { followerUpdates(researcherId: $id) "
        "{ researcher { viewerFollows } followers } }"
    )
    anonymous = [Socket(server.base_url) for _ in range(5)]
    signed_in = [Socket(server.base_url) for _ in range(5)]
    try:
        for socket in anonymous:
            socket.init()
        for socket in signed_in:
            socket.init({"token": member.token})
        for socket in anonymous + signed_in:
            socket.subscribe("f", viewer_follows, {"id": seed_id})
        for socket in anonymous + signed_in:
            update = socket.next_data("f")["followerUpdates"]
            assert update["followers"] == 1
            assert update["researcher"]["viewerFollows"] is (socket in signed_in)
        # One execution for the five visitors, one for the member's five sockets.
        assert hub.watchers(Topic.FOLLOWERS, seed_pk) == 2
        assert "errors" not in server.graphql(UNFOLLOW, {"id": seed_id}, token=member.token)
        for socket in anonymous + signed_in:
            update = socket.next_data("f")["followerUpdates"]
            assert (update["followers"], update["researcher"]["viewerFollows"]) == (0, False)
        for socket in signed_in:
            socket.send({"id": "f", "type": "complete"})
        # The last to leave ends the shared execution and its watch.
        eventually(lambda: _watchers_are(hub, seed_pk, 1))
    finally:
        for socket in anonymous + signed_in:
            socket.close()
    eventually(lambda: _watchers_are(hub, seed_pk, 0))


def _watchers_are(hub: LiveHub, researcher_id: int, expected: int) -> None:
    assert hub.watchers(Topic.FOLLOWERS, researcher_id) == expected


def test_a_change_nobody_announced_arrives_with_the_resync(
    fresh_demo_url: str, seed_id: str
) -> None:
    """A PUBLISH lost between a worker and Redis: the periodic re-read still delivers."""
    settings = settings_for(fresh_demo_url, live_resync_interval_s=0.3)
    with serve(create_app(settings)) as server, Socket(server.base_url) as socket:
        socket.init()
        socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed_id})
        assert followers_of(socket.next_data("f")) == 0
        seed_pk = int(base64.b64decode(seed_id).decode().split(":")[1])
        sql(settings, f"UPDATE researchers SET followers_count = 7 WHERE id = {seed_pk}")
        assert followers_of(socket.next_data("f", timeout=5)) == 7


def test_errors_carry_codes_as_over_http(server: LiveServer, seed_id: str) -> None:
    with Socket(server.base_url) as socket:
        socket.init()
        socket.subscribe("malformed", FOLLOWER_UPDATES, {"id": "not-an-id"})
        assert [e["extensions"]["code"] for e in socket.errors_of("malformed")] == [
            "BAD_USER_INPUT"
        ]
        missing = "UmVzZWFyY2hlcjo5OTk5OTk="  # Researcher:999999
        socket.subscribe("missing", FOLLOWER_UPDATES, {"id": missing})
        assert [e["extensions"]["code"] for e in socket.errors_of("missing")] == ["NOT_FOUND"]
        socket.subscribe("invalid", "subscription { followerUpdates { followers } }")
        assert [e["extensions"]["code"] for e in socket.errors_of("invalid")] == [
            "GRAPHQL_VALIDATION_FAILED"
        ]
        hop = "coauthors(first: 1) { edges { node { "
        deep = (
            "subscription($id: ID!) { followerUpdates(researcherId: $id) { researcher { "
            + hop * 4
            + "id"
            + " } } }" * 4
            + " } } }"
        )
        socket.subscribe("deep", deep, {"id": seed_id})
        assert [e["extensions"]["code"] for e in socket.errors_of("deep")] == ["QUERY_TOO_COMPLEX"]
        costly = (
            "subscription($id: ID!) { followerUpdates(researcherId: $id) { researcher { "
            "coauthors(first: 100) { edges { node { coauthors(first: 100) { edges { node { "
            "coauthors(first: 100) { edges { node { id } } } } } } } } } } } }"
        )
        socket.subscribe("costly", costly, {"id": seed_id})
        assert [e["extensions"]["code"] for e in socket.errors_of("costly")] == [
            "QUERY_TOO_COMPLEX"
        ]
        huge = "subscription { " + "a: __typename " * 5_000 + "}"
        socket.subscribe("huge", huge)
        assert [e["extensions"]["code"] for e in socket.errors_of("huge")] == ["QUERY_TOO_COMPLEX"]
        # The connection survives its operations' errors.
        socket.subscribe("fine", FOLLOWER_UPDATES, {"id": seed_id})
        assert followers_of(socket.next_data("fine")) == 0


def test_queries_and_mutations_run_over_the_socket_too(
    server: LiveServer, fresh_demo_url: str, seed_id: str
) -> None:
    # Two accounts, the socket signed in as the second: a socket that took another account's
    # identity would show it in `viewer` and in whose follow it wrote.
    _, member = confirmed_accounts(settings_for(fresh_demo_url), 2)
    with Socket(server.base_url) as socket:
        socket.init({"token": member.token})
        socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed_id})
        assert followers_of(socket.next_data("f")) == 0
        socket.subscribe("follow", FOLLOW, {"id": seed_id})
        assert socket.next_data("follow")["follow"]["researcher"]["id"] == seed_id
        assert socket.message_of("follow")["type"] == "complete"
        assert followers_of(socket.next_data("f")) == 1
        socket.subscribe("me", "{ viewer { id } }")
        assert socket.next_data("me")["viewer"] == {
            "id": to_global_id("Account", member.account_id)
        }
    # The follow sent over the socket is the member's.
    assert sql(settings_for(fresh_demo_url), "SELECT account_id FROM follows") == [
        (member.account_id,)
    ]


def test_over_http_a_subscription_is_a_bad_request(demo_server: LiveServer, seed_id: str) -> None:
    with demo_server.client() as client:
        for response in (
            client.post("/graphql", json={"query": FOLLOWER_UPDATES, "variables": {"id": seed_id}}),
            client.get(
                "/graphql",
                params={"query": FOLLOWER_UPDATES, "variables": f'{{"id": "{seed_id}"}}'},
            ),
        ):
            assert response.status_code == 400
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "BAD_REQUEST"
            assert "subscribe over the WebSocket" in error["message"]
