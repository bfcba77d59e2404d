"""A production-shaped deployment for fault tests: a database on the test's own PostgreSQL, the
test's own Redis, and ``bzpeer serve --api-only``, ``bzpeer relay`` and ``bzpeer worker`` as
real processes that a test may SIGKILL and restart. Also the independent checks: lost events,
effects applied twice, and agreement with ``bzpeer recompute --all``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import httpx

from service.config import Settings
from service.db.migrate import upgrade
from service.graphql.relay import to_global_id
from tests.events.population import Member, add_work, confirmed_accounts, researcher_ids, sql
from tests.events.private_servers import PrivateRedis
from tests.support import REPO, free_port, load_demo_into, settings_for, wait_until_serving

CONSUMED = ("follows.created", "follows.deleted", "works.added")
FOLLOW = "mutation($id: ID!) { follow(input: {researcherId: $id}) { researcher { id } } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {researcherId: $id}) { researcher { id } } }"


@dataclass
class Outcome:
    committed: int
    lost: int
    applied_twice: int
    oracle_mismatches: int
    details: list[str] = field(default_factory=list)

    def line(self, scenario: str) -> str:
        return (
            f"{scenario}: {self.committed} committed events, lost {self.lost}, applied twice "
            f"{self.applied_twice}, differing from recompute --all {self.oracle_mismatches}"
        )


class DatabaseServer(Protocol):
    def create_database(self, name: str) -> str: ...


D = TypeVar("D", bound=DatabaseServer)


class Deployment(Generic[D]):
    def __init__(self, postgres: D, redis: PrivateRedis, workdir: Path, **env: str) -> None:
        self.postgres = postgres
        self.redis = redis
        self.workdir = workdir
        self.database_url = postgres.create_database(f"faults_{uuid.uuid4().hex[:8]}")
        upgrade(self.database_url)
        load_demo_into(self.database_url)
        self.settings: Settings = settings_for(self.database_url)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis.url(),
            "BZPEER_BROKER_NAMESPACE": self.settings.broker_namespace,
            "BZPEER_ENV": "production",
            "BZPEER_LOG_LEVEL": "INFO",
            "BZPEER_RATE_LIMIT_FOLLOWS_PER_ACCOUNT": "100000/minute",
            "BZPEER_WORKER_HEARTBEAT_TIMEOUT_MS": "3000",
            "BZPEER_WORKER_MAINTENANCE_CHANCE": "200000",
            "BZPEER_RECONCILE_INTERVAL_S": "0.5",
            "BZPEER_RECONCILE_AFTER_S": "3",
            "BZPEER_EVENT_MIN_BACKOFF_MS": "100",
            "BZPEER_EVENT_MAX_BACKOFF_MS": "2000",
            "BZPEER_EVENT_MAX_RETRIES": "40",
            **env,
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: Counter[str] = Counter()
        self.members: list[Member] = confirmed_accounts(self.settings, 30)
        self.researchers = researcher_ids(self.settings)
        self.following: set[tuple[int, int]] = set()
        self.api_errors = 0

    # Processes

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        log = (self.workdir / f"{name}-{self.starts[name]}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            cwd=REPO,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def start_api(self, name: str = "api") -> str:
        """Start an API process (``api`` on ``base_url``, others on ports of their own); its
        URL once it answers."""
        port = self.port if name == "api" else free_port()
        api = self.start(name, "serve", "--api-only", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, api)  # type: ignore[arg-type]
        return url

    def start_all(self) -> None:
        """API, relay and one worker, as in production."""
        self.start_api()
        self.start_relay()
        self.start_worker()

    def start_relay(self, **env: str) -> subprocess.Popen[bytes]:
        return self.start("relay", "relay", **env)

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--threads", "4")

    def wait_for_log(self, name: str, event: str, timeout: float = 30) -> None:
        """Wait until the latest ``name`` process has logged ``event`` (it is ready)."""
        path = self.workdir / f"{name}-{self.starts[name]}.log"
        deadline = time.monotonic() + timeout
        while f'"{event}"' not in path.read_text(errors="replace"):
            assert self.processes[name].poll() is None, path.read_text(errors="replace")
            assert time.monotonic() < deadline, f"{name} did not log {event}"
            time.sleep(0.02)

    def kill(self, name: str) -> int:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        return process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # Load

    def graphql(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=15,
        )
        return response.json()

    def stream(self, events: int, seconds: float, seed: int = 7) -> threading.Thread:
        """Start making ``events`` changes over about ``seconds`` in a thread: follows and
        unfollows through the API, and now and then a new work through the service layer."""
        chooser = random.Random(seed)

        def run() -> None:
            pause = seconds / events
            for i in range(events):
                started = time.monotonic()
                if i % 10 == 9:
                    # One author: the co-author graph (and so clusters) stays as it is; edges
                    # kept current on new works are issue 6's.
                    authors = [chooser.choice(self.researchers)]
                    try:
                        add_work(self.settings, f"Fault-test work {i}", authors)
                    except Exception:
                        self.api_errors += 1  # the database is down: nothing was committed
                else:
                    member = chooser.choice(self.members)
                    researcher = chooser.choice(self.researchers)
                    key = (member.account_id, researcher)
                    query = UNFOLLOW if key in self.following else FOLLOW
                    try:
                        body = self.graphql(
                            query, {"id": to_global_id("Researcher", researcher)}, member.token
                        )
                    except (httpx.HTTPError, ValueError):
                        body = {"errors": ["transport"]}
                    if "errors" in body:
                        self.api_errors += 1
                    else:
                        self.following ^= {key}
                time.sleep(max(0.0, pause - (time.monotonic() - started)))

        thread = threading.Thread(target=run, name="event-stream", daemon=True)
        thread.start()
        return thread

    # Checks

    def wait_until_settled(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ((unprocessed,),) = sql(
                    self.settings,
                    "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL "
                    "AND event_type IN ('follows.created', 'follows.deleted', 'works.added')",
                )
                ((stale,),) = sql(self.settings, "SELECT count(*) FROM trust_stale")
                if unprocessed == 0 and stale == 0:
                    return
            except Exception:
                pass
            time.sleep(0.2)

    def applications(self) -> Counter[int]:
        """How many times each event's effect was applied, from every worker log."""
        applied: Counter[int] = Counter()
        for path in self.workdir.glob("worker*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if '"event.applied"' in line:
                    applied[int(json.loads(line)["event_id"])] += 1
        return applied

    def derived_state(self) -> dict[int, tuple[Any, ...]]:
        rows = sql(
            self.settings,
            "SELECT r.id, r.followers_count, r.works_count, r.topics_count, "
            "r.close_collaborators_count, t.score, t.verification_level, t.factors::text "
            "FROM researchers r LEFT JOIN trust_snapshots t "
            "ON t.researcher_id = r.id AND t.is_current ORDER BY r.id",
        )
        return {row[0]: tuple(row[1:]) for row in rows}

    def recount_mismatches(self) -> tuple[int, int, list[str]]:
        """Counters below (lost) and above (applied twice) an independent recount."""
        rows = sql(
            self.settings,
            "SELECT r.id, r.followers_count, (SELECT count(*) FROM follows f "
            "WHERE f.researcher_id = r.id), r.works_count, (SELECT count(*) FROM authorships a "
            "WHERE a.researcher_id = r.id) FROM researchers r",
        )
        below = above = 0
        details = []
        for rid, followers, true_followers, works, true_works in rows:
            for name, stored, truth in (
                ("followers", followers, true_followers),
                ("works", works, true_works),
            ):
                if stored < truth:
                    below += 1
                elif stored > truth:
                    above += 1
                if stored != truth:
                    details.append(f"researcher {rid} {name}: stored {stored}, recount {truth}")
        return below, above, details

    def outcome(self) -> Outcome:
        """Stop every process, then count against the source tables and the oracle."""
        self.wait_until_settled()
        self.stop_all()
        committed_ids = [
            int(row[0])
            for row in sql(
                self.settings,
                "SELECT id FROM outbox_events WHERE event_type IN "
                "('follows.created', 'follows.deleted', 'works.added')",
            )
        ]
        unprocessed = sql(
            self.settings,
            "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL AND event_type IN "
            "('follows.created', 'follows.deleted', 'works.added')",
        )[0][0]
        applied = self.applications()
        below, above, details = self.recount_mismatches()
        twice = sum(1 for event_id in committed_ids if applied[event_id] > 1)
        never = sum(1 for event_id in committed_ids if applied[event_id] == 0)
        details += [f"{never} committed events with no application in the worker logs"]
        before = self.derived_state()
        oracle = subprocess.run(
            [sys.executable, "-m", "service.cli", "recompute", "--all"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert oracle.returncode == 0, oracle.stderr
        after = self.derived_state()
        mismatches = [rid for rid in before if before[rid] != after.get(rid)]
        details += [f"researcher {rid}: {before[rid]} -> {after[rid]}" for rid in mismatches]
        return Outcome(
            committed=len(committed_ids),
            lost=int(unprocessed) + below,
            applied_twice=twice + above,
            oracle_mismatches=len(mismatches),
            details=details,
        )
