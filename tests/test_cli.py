"""The commands an operator runs, as processes: the embedded default from nothing, and
PostgreSQL after ``bzpeer migrate`` and ``bzpeer demo load``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis

from service.graphql.relay import to_global_id
from service.live.versions import EVERYTHING, VersionKeys
from tests.events.population import confirmed_accounts, sql
from tests.live.client import Socket
from tests.support import (
    REPO,
    contract,
    create_database,
    drop_database,
    environment,
    eventually,
    http_client,
    http_post,
    reserved_port,
    settings_for,
    stop_process,
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
    # Its output goes to files: a pipe nobody reads while it runs fills up (64 KB: a few
    # hundred requests' log lines) and then blocks the server's next log line, and with it
    # the request being answered.
    with (
        reserved_port() as port,
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
    ):
        process = subprocess.Popen(
            [*BZPEER, "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
        served = Served(base=f"http://127.0.0.1:{port}")
        try:
            wait_until_serving(served.base, process)
            yield served
        finally:
            stop_process(process)
            stderr.seek(0)
            served.stderr = stderr.read()
            stdout.seek(0)
            banner = stdout.read()
    # The banner is only complete once the process has flushed it.
    assert f"{served.base}/graphql" in banner


def profile(base: str) -> dict[str, Any]:
    found = http_post(
        f"{base}/graphql",
        json={
            "query": contract("researcher_search.graphql"),
            "variables": {"q": "Kaiyue Lu"},
        },
    ).json()
    (edge,) = found["data"]["researchers"]["edges"]
    body = http_post(
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
            body = http_post(
                f"{served.base}/graphql", json={"query": "{ researchers { totalCount } }"}
            ).json()
            assert body["data"]["researchers"]["totalCount"] == 9

    def test_banner_prints_the_pages_graphiql_and_the_seed_query(self, tmp_path: Path) -> None:
        env = environment(BZPEER_DATA_DIR=str(tmp_path / "data"))
        with reserved_port() as port:
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
                stop_process(process)
        banner = "".join(lines)
        assert f"Web: http://127.0.0.1:{port}/ " in banner
        seed = re.search(r'Variables: \{"id":"([A-Za-z0-9+/=]+)"\}', banner)
        assert seed, banner
        profile = f"The seed profile: http://127.0.0.1:{port}/researchers/{quote(seed[1], safe='')}"
        assert profile in banner
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
                body = http_post(
                    f"{served.base}/graphql",
                    json={"query": follow, "variables": {"id": seed}},
                    headers={"authorization": f"Bearer {member.token}"},
                ).json()
                assert "errors" not in body, body
                assert socket.next_data("f")["followerUpdates"]["followers"] == 1

    def test_mail_becomes_eml_files_with_their_path_logged(self, tmp_path: Path) -> None:
        env = environment(BZPEER_DATA_DIR=str(tmp_path / "data"))
        with bzpeer_serve(env) as served:
            body = http_post(
                f"{served.base}/graphql",
                json={
                    "query": (
                        'mutation { signUp(input: {email: "eve@example.org", password: '
                        '"correct horse battery", displayName: "Eve"}) { email account { id } } }'
                    )
                },
            ).json()
            assert body["data"]["signUp"] == {"email": "eve@example.org", "account": None}
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


MACHINE_REDIS = "redis://127.0.0.1:6379/0"
"""The machine's Redis (keys under a namespace of the test's own, deleted at its end)."""


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

    def test_commands_that_rewrite_data_drop_every_cached_answer(self, tmp_path: Path) -> None:
        """The demo and a recompute write without events: with Redis, every API process's
        cached answers must go (the tag every answer carries is bumped)."""
        url = create_database("postgresql", tmp_path)
        namespace = f"bzpeer-test-{uuid.uuid4().hex[:12]}"
        client = redis.Redis.from_url(MACHINE_REDIS)
        everything = VersionKeys(namespace).tag(EVERYTHING)
        try:
            env = environment(DATABASE_URL=url, REDIS_URL=MACHINE_REDIS)
            env["BZPEER_BROKER_NAMESPACE"] = namespace
            assert client.get(everything) is None
            run(["demo", "load"], env)
            assert client.get(everything) == b"1"
            run(["demo", "load"], env)  # already present: nothing rewritten
            assert client.get(everything) == b"1"
            run(["recompute", "--all"], env)
            assert client.get(everything) == b"2"
        finally:
            drop_database(url)
            for key in client.scan_iter(f"{namespace}:*"):
                client.delete(key)
            client.close()

    def test_export_schema(self, tmp_path: Path) -> None:
        target = tmp_path / "schema.graphql"
        run(["export-schema", "--output", str(target)], environment())
        assert target.read_text() == (REPO / "schema.graphql").read_text()


class TestCommandsBesideARunningServer:
    """Operators run commands while the service runs. On SQLite they queue for its one writer
    lock instead of failing with "database is locked"; on both backends ``recompute --all``
    subsumes the events still in flight instead of letting the workers count them twice."""

    @pytest.fixture
    def running(self, backend: str, tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
        data = tmp_path / "data"
        if backend == "sqlite":  # the embedded default, as a user starts it
            env = environment(BZPEER_DATA_DIR=str(data))
            with bzpeer_serve(env) as served:
                env["DATABASE_URL"] = f"sqlite:///{data.resolve() / 'bzpeer.sqlite3'}"
                yield served, env
            assert "locked" not in served.stderr  # no write of the server failed either
            return
        url = create_database("postgresql", tmp_path)
        try:
            env = environment(DATABASE_URL=url, BZPEER_DATA_DIR=str(data))
            run(["demo", "load"], env)
            with bzpeer_serve(env) as served:  # in-process relay and worker, no Redis
                yield served, env
        finally:
            drop_database(url)

    def test_writers_wait_and_nothing_is_counted_twice(
        self, running: tuple[Served, dict[str, str]]
    ) -> None:
        served, env = running
        settings = settings_for(env["DATABASE_URL"])
        ((seed_pk,),) = sql(settings, "SELECT id FROM researchers WHERE display_name = 'Kaiyue Lu'")
        # Enough members that the stream outlasts the six commands on a loaded machine (each
        # follow waits 20 ms): 400 ran out before them under the parallel suite.
        members = confirmed_accounts(settings, 2_000)
        follow = "mutation($id: ID!) { follow(input: {researcherId: $id}) { researcher { id } } }"
        variables = {"id": to_global_id("Researcher", seed_pk)}
        commands_done = threading.Event()

        def follow_until_the_commands_are_done() -> list[dict[str, Any]]:
            # A steady stream of follows, each committed by the API and then applied by the
            # server's worker, so that every command overlaps events in flight.
            answers = []
            with http_client(base_url=served.base, timeout=60) as client:
                for member in members:
                    if commands_done.is_set():
                        break
                    answers.append(
                        client.post(
                            "/graphql",
                            json={"query": follow, "variables": variables},
                            headers={"authorization": f"Bearer {member.token}"},
                        ).json()
                    )
                    commands_done.wait(0.02)
            return answers

        with ThreadPoolExecutor(max_workers=1) as pool:
            follows = pool.submit(follow_until_the_commands_are_done)
            try:
                outputs = [
                    run(["recompute", "--all"], env),
                    run(["api-key", "create", "--name", "nightly"], env),
                    run(["recluster"], env),
                    run(["recompute", "--all"], env),
                    run(["recompute", "--all"], env),
                    run(["demo", "load"], env),
                ]
            finally:
                commands_done.set()
            answers = follows.result(timeout=120)
        assert [body for body in answers if "errors" in body] == []
        assert 10 <= len(answers) < len(members), "the follows did not overlap the commands"
        assert "already present" in outputs[-1]

        def settled() -> None:
            ((stored, recounted),) = sql(
                settings,
                "SELECT followers_count, (SELECT count(*) FROM follows WHERE researcher_id = :i) "
                "FROM researchers WHERE id = :i",
                i=seed_pk,
            )
            assert (stored, recounted) == (len(answers), len(answers))

        eventually(settled, timeout=30)
