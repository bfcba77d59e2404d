"""Production shape: two ``bzpeer serve --api-only`` processes, ``bzpeer relay`` and ``bzpeer
worker`` on PostgreSQL and the test's own Redis. A subscriber on one API process sees what
clients do through the other; a Redis restart leaves no stale value behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from service.graphql.relay import to_global_id
from tests.events.deployment import FOLLOW, UNFOLLOW, Deployment, scrape
from tests.events.population import sql
from tests.live.client import Socket
from tests.live.shape import MachinePostgres, two_apis
from tests.support import contract, http_post

pytestmark = pytest.mark.timeout(180)

FOLLOWER_UPDATES = contract("follower_updates.graphql")
TRUST_UPDATES = contract("trust_updates.graphql")
REPORTS: list[str] = []
"""Follow-to-delivery times across processes, printed at the end of the test session."""


@dataclass
class Cluster:
    deployment: Deployment[MachinePostgres]
    a: str
    """URL of API process a (subscribers)."""
    b: str
    """URL of API process b (follows, sign-outs)."""

    @property
    def seed(self) -> str:
        ((rid,),) = sql(
            self.deployment.settings,
            "SELECT id FROM researchers WHERE display_name = 'Kaiyue Lu'",
        )
        return to_global_id("Researcher", rid)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with two_apis(
        tmp_path_factory.mktemp("live"),
        BZPEER_WS_MAX_CONNECTIONS_PER_ACCOUNT="2",
        # Only the reconnection repair may heal what a Redis outage hid (test below).
        BZPEER_LIVE_RESYNC_INTERVAL_S="3600",
    ) as (deployment, a, b):
        yield Cluster(deployment, a, b)


def through(url: str, query: str, variables: dict[str, str], token: str) -> None:
    response = http_post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert "errors" not in response.json(), response.json()


def followers(socket: Socket, id_: str, timeout: float = 15) -> int:
    return int(socket.next_data(id_, timeout)["followerUpdates"]["followers"])


def test_a_subscriber_on_one_process_sees_follows_made_through_the_other(
    cluster: Cluster,
) -> None:
    seed = cluster.seed
    member = cluster.deployment.members[0]
    a, b = cluster.a, cluster.b
    # Warm-up (first connections, imports), so that the time printed below is a steady one.
    warm_up = cluster.deployment.members[4]
    through(b, FOLLOW, {"id": seed}, warm_up.token)
    through(b, UNFOLLOW, {"id": seed}, warm_up.token)
    cluster.deployment.wait_until_settled()
    with Socket(a) as socket:
        socket.init()
        socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed})
        socket.subscribe("t", TRUST_UPDATES, {"id": seed})
        assert followers(socket, "f") == 0
        before = socket.next_data("t")["trustUpdates"]

        started = time.perf_counter()
        through(b, FOLLOW, {"id": seed}, member.token)
        assert followers(socket, "f") == 1
        to_count = time.perf_counter() - started
        followed = socket.next_data("t")["trustUpdates"]
        to_trust = time.perf_counter() - started
        assert followed != before
        assert any(f["detail"].startswith("1 follower") for f in followed["factors"])

        through(b, UNFOLLOW, {"id": seed}, member.token)
        assert followers(socket, "f") == 0
        assert socket.next_data("t")["trustUpdates"] == before
    REPORTS.append(
        f"follow through API b -> seen on API a: follower count {to_count * 1000:.0f} ms, "
        f"trust snapshot {to_trust * 1000:.0f} ms (relay, worker, 150 ms trust coalescing)"
    )


def test_signing_out_on_one_process_closes_the_socket_on_the_other(
    cluster: Cluster,
) -> None:
    member = cluster.deployment.members[1]
    with Socket(cluster.a) as socket:
        socket.init({"token": member.token})
        response = http_post(
            f"{cluster.b}/graphql",
            json={"query": "mutation { signOut { ok } }"},
            headers={"authorization": f"Bearer {member.token}"},
        )
        assert response.json() == {"data": {"signOut": {"ok": True}}}
        closed = socket.closed()
    assert (closed.code, closed.reason) == (4403, "Signed out.")


def test_connections_per_account_count_across_processes(cluster: Cluster) -> None:
    token = cluster.deployment.members[2].token
    a, b = cluster.a, cluster.b
    with Socket(a) as one, Socket(b) as two:
        one.init({"token": token})
        two.init({"token": token})
        with Socket(a) as three:
            three.send({"type": "connection_init", "payload": {"token": token}})
            assert three.closed().code == 4403
    with Socket(b) as four:
        assert four.init({"token": token}) == {"type": "connection_ack"}


def test_a_redis_restart_leaves_no_stale_value(cluster: Cluster) -> None:
    seed = cluster.seed
    member = cluster.deployment.members[3]
    with Socket(cluster.a) as socket:
        socket.init()
        socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed})
        assert followers(socket, "f") == 0
        cluster.deployment.redis.kill()
        # A change whose message is lost: committed while nobody could publish it.
        sql(
            cluster.deployment.settings,
            "UPDATE researchers SET followers_count = 5 WHERE id = "
            "(SELECT id FROM researchers WHERE display_name = 'Kaiyue Lu')",
        )
        # Nothing can carry the change while Redis is down. A deliberate window, not a wait for
        # something: nothing may arrive in it, and the value must come only with the repair
        # below (a longer or shorter window changes neither outcome).
        assert socket.quiet(1.2) == []
        cluster.deployment.redis.start()
        # Repaired by the re-read on resubscription (the periodic resync is an hour away).
        assert followers(socket, "f", timeout=20) == 5
        metrics = scrape(cluster.a)
        assert "bzpeer_live_pubsub_connections 2.0" in metrics
        # And the pipeline carries the next change as before.
        through(cluster.b, FOLLOW, {"id": seed}, member.token)
        assert followers(socket, "f", timeout=30) == 6
