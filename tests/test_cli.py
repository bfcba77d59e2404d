"""The commands an operator runs, as processes: the embedded default from nothing, and
PostgreSQL after ``bzpeer migrate`` and ``bzpeer demo load``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from service.graphql.relay import to_global_id
from tests.events.population import confirmed_accounts, sql
from tests.live.client import Socket
from tests.support import (
    REPO,
    contract,
    create_database,
    drop_database,
    free_port,
    settings_for,
    wait_until_serving,
)

BZPEER = [sys.executable, "-m", "service.cli"]


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*BZPEER, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Served:
    base: str
    stderr: str = ""
    """What the process logged, once it has exited."""


@contextmanager
def bzpeer_serve(env: dict[str, str]) -> Iterator[Served]:
    """``bzpeer serve`` as a process; stops it on exit and checks that it printed its URL."""
    port = free_port()
    process = subprocess.Popen(
        [*BZPEER, "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(base=f"http://127.0.0.1:{port}")
    try:
        wait_until_serving(served.base, process)
        yield served
    finally:
        process.terminate()
        stdout, served.stderr = process.communicate(timeout=20)
    # The banner is only complete once the process has flushed it.
    assert f"{served.base}/graphql" in stdout


def environment(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("BZPEER_")
    }
    env.update(extra)
    return env


def profile(base: str) -> dict[str, Any]:
    found = httpx.post(
        f"{base}/graphql",
        json={
            "query": contract("researcher_search.graphql"),
            "variables": {"q": "Kaiyue Lu"},
        },
    ).json()
    (edge,) = found["data"]["researchers"]["edges"]
    body = httpx.post(
        f"{base}/graphql",
        json={
            "query": contract("profile_page.graphql"),
            "variables": {"id": edge["node"]["id"]},
        },
    ).json()
    assert "errors" not in body
    researcher: dict[str, Any] = body["data"]["researcher"]
    return researcher


def assert_seed_page(page: dict[str, Any]) -> None:
    assert page["displayName"] == "Kaiyue Lu"
    assert page["affiliation"] is None
    assert page["openToCollaborate"] is True
    trust = page["trust"]
    assert (trust["score"], trust["band"], trust["verificationLevel"], trust["claimed"]) == (
        11,
        "UNVERIFIED",
        "L1",
        False,
    )
    assert page["counts"] == {"works": 1, "followers": 0, "topics": 1, "closeCollaborators": 4}
    (edge,) = page["works"]["edges"]
    assert (
        edge["node"]["title"] == "Neural Architecture Search on Efficient Transformers and Beyond"
    )
    assert edge["node"]["abstract"].startswith("Recently, numerous efficient Transformers")


class TestEmbeddedDefault:
    def test_serve_from_nothing(self, tmp_path: Path) -> None:
        env = environment(BZPEER_DATA_DIR=str(tmp_path / "data"))
        with bzpeer_serve(env) as served:
            assert_seed_page(profile(served.base))
        assert (tmp_path / "data" / "bzpeer.sqlite3").exists()
        # A second start finds the demo already there and loads nothing twice.
        with bzpeer_serve(env) as served:
            body = httpx.post(
                f"{served.base}/graphql", json={"query": "{ researchers { totalCount } }"}
            ).json()
            assert body["data"]["researchers"]["totalCount"] == 9

    def test_banner_prints_graphiql_and_the_seed_query(self, tmp_path: Path) -> None:
        env = environment(BZPEER_DATA_DIR=str(tmp_path / "data"))
        port = free_port()
        process = subprocess.Popen(
            [*BZPEER, "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.startswith("Variables:"):
                    break
        finally:
            process.terminate()
            process.wait(timeout=20)
        banner = "".join(lines)
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in banner
        assert f"Subscriptions: ws://127.0.0.1:{port}/graphql (graphql-transport-ws)" in banner
        assert "query ProfilePage($id: ID!)" in banner
        assert re.search(r'Variables: \{"id":"[A-Za-z0-9+/=]+"\}', banner)

    def test_the_embedded_default_pushes_follower_updates(self, tmp_path: Path) -> None:
        """``bzpeer serve`` as a user starts it: in-process workers and pub/sub on SQLite."""
        data = tmp_path / "data"
        env = environment(BZPEER_DATA_DIR=str(data))
        follow = "mutation($id: ID!) { follow(input: {researcherId: $id}) { researcher { id } } }"
        with bzpeer_serve(env) as served:
            settings = settings_for(f"sqlite:///{data.resolve() / 'bzpeer.sqlite3'}")
            ((seed_pk,),) = sql(
                settings, "SELECT id FROM researchers WHERE display_name = 'Kaiyue Lu'"
            )
            seed = to_global_id("Researcher", seed_pk)
            (member,) = confirmed_accounts(settings, 1)
            with Socket(served.base) as socket:
                socket.init()
                socket.subscribe("f", contract("follower_updates.graphql"), {"id": seed})
                assert socket.next_data("f")["followerUpdates"]["followers"] == 0
                body = httpx.post(
                    f"{served.base}/graphql",
                    json={"query": follow, "variables": {"id": seed}},
                    headers={"authorization": f"Bearer {member.token}"},
                ).json()
                assert "errors" not in body, body
                assert socket.next_data("f")["followerUpdates"]["followers"] == 1

    def test_mail_becomes_eml_files_with_their_path_logged(self, tmp_path: Path) -> None:
        env = environment(BZPEER_DATA_DIR=str(tmp_path / "data"))
        with bzpeer_serve(env) as served:
            body = httpx.post(
                f"{served.base}/graphql",
                json={
                    "query": (
                        'mutation { signUp(input: {email: "eve@example.org", password: '
                        '"correct horse battery", displayName: "Eve"}) { account { email } } }'
                    )
                },
            ).json()
            assert body["data"]["signUp"]["account"]["email"] == "eve@example.org"
        stderr = served.stderr
        (mail,) = (tmp_path / "data" / "mail").glob("*.eml")
        text = mail.read_text()
        assert "To: eve@example.org" in text and "confirmation code" in text
        logged = [
            json.loads(line)
            for line in stderr.splitlines()
            if line.startswith("{") and '"mail.written"' in line
        ]
        assert [entry["path"] for entry in logged] == [str(mail)]


class TestPostgres:
    def test_migrate_demo_load_and_serve(self, tmp_path: Path) -> None:
        url = create_database("postgresql", tmp_path)  # a fresh database, migrated once here
        try:
            env = environment(DATABASE_URL=url, BZPEER_DATA_DIR=str(tmp_path / "unused"))
            assert "migrated" in run(["migrate"], env)  # idempotent on a migrated database
            assert "demo data loaded" in run(["demo", "load"], env)
            assert "already present" in run(["demo", "load"], env)
            with bzpeer_serve(env) as served:
                assert_seed_page(profile(served.base))
            assert not (tmp_path / "unused").exists()
        finally:
            drop_database(url)

    def test_export_schema(self, tmp_path: Path) -> None:
        target = tmp_path / "schema.graphql"
        run(["export-schema", "--output", str(target)], environment())
        assert target.read_text() == (REPO / "schema.graphql").read_text()
