"""The response cache in the production shape: two ``bzpeer serve --api-only`` processes with
their caches on, ``bzpeer relay`` and ``bzpeer worker`` on PostgreSQL and the test's own Redis.
Both processes answer the profile page from their caches; then a follower count, a trust
snapshot, a profile field and a work change, each through the public API, and the next read on
either process shows the change: once the mutation has answered, or once a subscriber has been
told (a worker's change). A signed-in read is never cached."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from service.claims.models import Claim, ClaimMethod, ClaimStatus
from service.cli import _create_api_key
from service.config import Settings
from service.db.base import utcnow
from service.db.engine import create_engine, create_sessionmaker
from service.graphql.relay import from_global_id, to_global_id
from tests.events.deployment import FOLLOW, Deployment, scrape
from tests.events.population import sql
from tests.live.client import Socket
from tests.live.shape import MachinePostgres, two_apis
from tests.support import contract, http_post

pytestmark = pytest.mark.timeout(180)

PROFILE_PAGE = contract("profile_page.graphql")
FOLLOWER_UPDATES = contract("follower_updates.graphql")
TRUST_UPDATES = contract("trust_updates.graphql")
UPDATE_PROFILE = (
    "mutation($text: String!) { updateProfile(input: {description: $text}) "
    "{ researcher { description } } }"
)
ADD_WORK = "mutation($input: AddWorkInput!) { addWork(input: $input) { work { id title } } }"
CACHED = re.compile(r'^bzpeer_graphql_cached_answers_total\{operation="(\w+)"\} (\S+)$', re.M)


@dataclass
class Site:
    deployment: Deployment[MachinePostgres]
    apis: tuple[str, str]

    def researcher(self, name: str) -> str:
        ((pk,),) = sql(
            self.deployment.settings, "SELECT id FROM researchers WHERE display_name = :n", n=name
        )
        return to_global_id("Researcher", pk)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with two_apis(
        tmp_path_factory.mktemp("cache"),
        BZPEER_RESPONSE_CACHE_ENTRIES="1000",
        # Nothing but the change versions may make a cached answer go: no expiry here.
        BZPEER_RESPONSE_CACHE_TTL_S="3600",
    ) as (deployment, a, b):
        yield Site(deployment, (a, b))


def page(api: str, researcher: str, token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = http_post(
        f"{api}/graphql",
        json={"query": PROFILE_PAGE, "variables": {"id": researcher}},
        headers=headers,
        timeout=15,
    )
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"]["researcher"])


def cached(api: str) -> float:
    return sum(float(value) for _, value in CACHED.findall(scrape(api)))


def warm(site: Site, researcher: str) -> dict[str, Any]:
    """Read the page on both processes until both answer it from their caches."""
    first = page(site.apis[0], researcher)
    for api in site.apis:
        page(api, researcher)
        before = cached(api)
        assert page(api, researcher) == first
        assert cached(api) == before + 1, "the second read of a page is a cache hit"
    return first


@contextlib.contextmanager
def without_relay(site: Site) -> Iterator[None]:
    """The relay also bumps what the events it sends name, a few milliseconds after the commit:
    without it only the mutation's own bump can make the next read fresh."""
    site.deployment.kill("relay")
    try:
        yield
    finally:
        site.deployment.start_relay()


def through(api: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = http_post(
        f"{api}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=15,
    )
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def test_a_follow_and_its_trust_are_fresh_on_both_processes(site: Site) -> None:
    seed = site.researcher("Kaiyue Lu")
    member = site.deployment.members[0]
    before = warm(site, seed)
    with Socket(site.apis[0]) as socket:
        socket.init()
        socket.subscribe("f", FOLLOWER_UPDATES, {"id": seed})
        socket.subscribe("t", TRUST_UPDATES, {"id": seed})
        assert socket.next_data("f", 15)["followerUpdates"]["followers"] == 0
        socket.next_data("t", 15)
        through(site.apis[1], FOLLOW, {"id": seed}, member.token)
        # The worker bumps the versions in the same pipeline, before it tells subscribers.
        assert socket.next_data("f", 15)["followerUpdates"]["followers"] == 1
        for api in site.apis:
            assert page(api, seed)["counts"]["followers"] == 1
        trust = socket.next_data("t", 15)["trustUpdates"]
    assert trust["factors"] != before["trust"]["factors"]
    for api in site.apis:
        shown = page(api, seed)["trust"]
        assert {k: shown[k] for k in trust} == trust
        assert any(f["detail"].startswith("1 follower") for f in shown["factors"])


def test_a_profile_field_is_fresh_on_both_processes_once_the_mutation_answers(
    site: Site,
) -> None:
    member = site.deployment.members[1]
    record = site.researcher("Zexiang Liu")
    asyncio.run(verify_claim(site.deployment.settings, member.account_id, record))
    before = warm(site, record)
    text = "Efficient transformers, now with a profile of my own."
    assert before["description"] != text
    with without_relay(site):
        through(site.apis[1], UPDATE_PROFILE, {"text": text}, member.token)
        for api in site.apis:
            assert page(api, record)["description"] == text


def test_a_new_work_is_fresh_on_both_processes_once_the_mutation_answers(site: Site) -> None:
    orcid = "0000-0002-1825-0097"
    # Before any read of this page: a change by plain SQL bumps no version.
    sql(
        site.deployment.settings,
        "UPDATE researchers SET orcid = :o WHERE display_name = 'Mei Tanaka'",
        o=orcid,
    )
    author = site.researcher("Mei Tanaka")
    key = asyncio.run(_create_api_key(site.deployment.settings, "cache-test", "import"))
    before = warm(site, author)
    work: dict[str, Any] = {
        "title": "A work the cache must not hide",
        "authors": [{"orcid": orcid}],
        "publicationYear": 2031,  # the newest: first on the page
    }
    with without_relay(site):
        added = through(site.apis[1], ADD_WORK, {"input": work}, key)["addWork"]["work"]
        for api in site.apis:
            works = page(api, author)["works"]
            assert works["totalCount"] == before["works"]["totalCount"] + 1
            assert works["edges"][0]["node"]["id"] == added["id"]


def test_a_signed_in_read_is_never_cached(site: Site) -> None:
    member = site.deployment.members[2]
    seed = site.researcher("Kaiyue Lu")
    api = site.apis[0]
    page(api, seed)  # an anonymous read may be cached
    before = cached(api)
    for _ in range(3):
        assert page(api, seed, member.token)["viewerCanClaim"] in (True, False)
    assert cached(api) == before


async def verify_claim(settings: Settings, account_id: int, record: str) -> None:
    """What a completed claim leaves (its flows are tested in tests/accounts)."""
    _, pk = from_global_id(record, "Researcher")
    engine = create_engine(settings, maintenance=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add(
                Claim(
                    account_id=account_id,
                    researcher_id=pk,
                    method=ClaimMethod.ORCID,
                    status=ClaimStatus.VERIFIED,
                    expires_at=utcnow() + dt.timedelta(days=1),
                )
            )
    finally:
        await engine.dispose()
