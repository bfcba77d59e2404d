"""A production-shaped deployment for fault tests: a database on the test's own PostgreSQL, the
test's own Redis, and ``bzpeer serve --api-only``, ``bzpeer relay`` and ``bzpeer worker`` as
real processes that a test may SIGKILL and restart. Also the checks: lost events, effects
applied twice, agreement with a plain SQL recount (``tests/events/recount.py``) and with
``bzpeer recompute --all``; what the broker still holds; the counts each worker logs as it
stops.

Every process runs in a session of its own (a kill takes whatever it started with it) and is
stopped by ``close()`` however the test ends: SIGTERM, SIGKILL after a grace period, then
wait. An API process's port is one that nothing can be handed meanwhile (outside the kernel's
ephemeral range), and should something still hold it, the process is started again on
another: it counts as started only once it holds the listening socket itself."""

from __future__ import annotations

import contextlib
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
from tests.events.private_servers import (
    PORT_ATTEMPTS,
    PrivateRedis,
    listens_on,
    port_holders,
    spare_port,
)
from tests.events.recount import recount
from tests.support import REPO, eventually, http_get, http_post, load_demo_into, settings_for
from workers.broker import EVENTS_QUEUE

CONSUMED = ("follows.created", "follows.deleted", "works.added")
STOP_GRACE_S = 15.0
"""How long a process may take to stop on SIGTERM before it is killed."""
FOLLOW = "mutation($id: ID!) { follow(input: {researcherId: $id}) { researcher { id } } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(input: {researcherId: $id}) { researcher { id } } }"

METRICS_TOKEN = "deployment-scraper"
"""What the deployment's processes take for ``/metrics`` (``scrape``)."""


def scrape(base_url: str) -> str:
    """The ``/metrics`` text of an API process of a deployment."""
    headers = {"authorization": f"Bearer {METRICS_TOKEN}"}
    return http_get(f"{base_url}/metrics", headers=headers, timeout=10).text


@dataclass
class Outcome:
    committed: int
    lost: int
    """Committed events never processed, and counters short of the recount."""
    applied_twice: int
    """Events applied more than once (worker logs), and counters past the recount."""
    recount_mismatches: int
    """Derived values, as the workers left them, that differ from the plain SQL recount."""
    oracle_mismatches: int
    """Researchers whose derived data ``bzpeer recompute --all`` changed."""
    oracle_recount_mismatches: int
    """Derived values that differ from the plain SQL recount after ``recompute --all``."""
    details: list[str] = field(default_factory=list)

    def line(self, scenario: str) -> str:
        return (
            f"{scenario}: {self.committed} committed events, lost {self.lost}, applied twice "
            f"{self.applied_twice}, differing from a plain SQL recount "
            f"{self.recount_mismatches}, from recompute --all {self.oracle_mismatches} "
            f"(recompute --all against the recount {self.oracle_recount_mismatches})"
        )

    @property
    def faults(self) -> tuple[int, ...]:
        return (
            self.lost,
            self.applied_twice,
            self.recount_mismatches,
            self.oracle_mismatches,
            self.oracle_recount_mismatches,
        )


class Stream:
    """Changes made in a thread at a steady pace: ``events`` of them over about ``seconds``, and
    more at the same pace until ``finish()``, so that a test can wait for a condition (a worker
    busy, writes during an outage) without the load running out first."""

    def __init__(self, deployment: Deployment[Any], events: int, seconds: float, seed: int):
        self.deployment = deployment
        self.minimum = events
        self.pause = seconds / events
        self.made = 0
        self._chooser = random.Random(seed)
        self._finishing = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="event-stream", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._finishing.is_set() and self.made >= self.minimum:
                return
            started = time.monotonic()
            self.deployment.change(self.made, self._chooser)
            self.made += 1
            self._stop.wait(max(0.0, self.pause - (time.monotonic() - started)))

    def finish(self) -> None:
        """Make the rest of the ``events`` (if any), then stop."""
        self._finishing.set()
        self.thread.join(timeout=max(0, self.minimum - self.made) * (self.pause + 1) + 60)
        assert not self.thread.is_alive(), f"the stream is stuck after {self.made} changes"

    def stop(self) -> None:
        """Stop now (a test that failed): at most one change in flight, then the thread ends."""
        self._stop.set()
        self.thread.join(timeout=30)


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether ``process`` has exited, without reaping it (WNOWAIT)."""
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


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
        self.port: int | None = None
        """The ``api`` process's port, once it serves."""
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis.url(),
            "BZPEER_BROKER_NAMESPACE": self.settings.broker_namespace,
            "BZPEER_ENV": "production",
            "BZPEER_METRICS_TOKEN": METRICS_TOKEN,  # production's /metrics answers only it
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
        """The latest process of each name."""
        self.started: list[subprocess.Popen[bytes]] = []
        """Every process started, so that ``close()`` stops even those a name no longer
        points to."""
        self.streams: list[Stream] = []
        self.starts: Counter[str] = Counter()
        self.members: list[Member] = confirmed_accounts(self.settings, 30)
        self.researchers = researcher_ids(self.settings)
        self.following: set[tuple[int, int]] = set()
        self.api_errors = 0

    # Processes

    @property
    def base_url(self) -> str:
        assert self.port is not None, "the api process has not been started"
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        """The log of the latest ``name`` process."""
        return self.workdir / f"{name}-{self.starts[name]}.log"

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        with self.log_path(name).open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", *args],
                cwd=REPO,
                env={**self.env, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        self.started.append(process)
        return process

    def start_api(self, name: str = "api") -> str:
        """Start an API process (``api`` on ``base_url``, others on ports of their own); its
        URL once it answers. A port found taken is given up for a fresh one."""
        taken = []
        for _ in range(PORT_ATTEMPTS):
            port = spare_port()
            api = self.start(
                name, "serve", "--api-only", "--host", "127.0.0.1", "--port", str(port)
            )
            if self._wait_until_serving(name, api, port):
                if name == "api":
                    self.port = port
                return f"http://127.0.0.1:{port}"
            taken.append(f"{port} ({port_holders(port)})")
        raise AssertionError(f"{name}: no free port in {PORT_ATTEMPTS} attempts: {taken}")

    def _wait_until_serving(
        self, name: str, process: subprocess.Popen[bytes], port: int, timeout: float = 60
    ) -> bool:
        """True once ``process`` itself listens on ``port`` and answers ``/healthz``; False
        (and the process killed) if it could not bind the port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.log_path(name).read_text(errors="replace")
            if "address already in use" in output.lower():
                # Killed rather than waited for: with REDIS_URL set, `bzpeer serve` does not
                # exit after a failed bind (its shutdown hangs).
                self._kill_process(process)
                return False
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{output}")
            if listens_on(process.pid, port):
                try:
                    http_get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                    return True
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self._kill_process(process)
        raise AssertionError(f"{name} did not serve on port {port} within {timeout:.0f} s")

    def start_all(self) -> None:
        """API, relay and one worker, as in production."""
        self.start_api()
        self.start_relay()
        self.start_worker()

    def start_relay(self, **env: str) -> subprocess.Popen[bytes]:
        return self.start("relay", "relay", **env)

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--threads", "4")

    def wait_for_log(self, name: str, event: str, timeout: float = 30, times: int = 1) -> None:
        """Wait until the latest ``name`` process has logged ``event`` (``times`` times)."""
        path = self.log_path(name)

        def logged() -> None:
            text = path.read_text(errors="replace")
            assert self.processes[name].poll() is None, f"{name} exited:\n{text}"
            assert text.count(f'"{event}"') >= times, f"{name} did not log {event} x{times}"

        eventually(logged, timeout=timeout, interval=0.02)

    def logged(self, name: str, event: str) -> int:
        """How many times the latest ``name`` process has logged ``event`` so far."""
        return self.log_path(name).read_text(errors="replace").count(f'"{event}"')

    def kill(self, name: str) -> int:
        """SIGKILL the latest ``name`` process and whatever it started."""
        return self._kill_process(self.processes[name])

    @staticmethod
    def _kill_process(process: subprocess.Popen[bytes]) -> int:
        """SIGKILL ``process`` and its session's other processes, then reap it. Only while it
        is not reaped: until then its pid, the group's id, cannot go to another process."""
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        return process.wait(timeout=10)

    def stop_all(self) -> None:
        """SIGTERM every process still running, SIGKILL those still there after
        ``STOP_GRACE_S`` and anything they started, and reap them all."""
        for process in self.started:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.started:
            if process.returncode is not None:
                continue  # reaped before (a test waited for it): nothing of it left to stop
            while not _exited(process) and time.monotonic() < deadline:
                time.sleep(0.02)
            self._kill_process(process)

    def close(self) -> None:
        """Stop the load and every process, whatever state the test left them in."""
        try:
            for stream in self.streams:
                stream.stop()
        finally:
            self.stop_all()

    # Load

    def graphql(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = http_post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=15,
        )
        return response.json()

    def stream(self, events: int, seconds: float, seed: int = 7) -> Stream:
        """Start making changes in a thread, ``events`` over about ``seconds`` and more until
        ``finish()``: follows and unfollows through the API, and now and then a new work
        through the service layer."""
        stream = Stream(self, events, seconds, seed)
        self.streams.append(stream)
        return stream

    def change(self, i: int, chooser: random.Random) -> None:
        """The stream's ``i``-th change."""
        if i % 10 == 9:
            # One author: the co-author graph (and so clusters) stays as it is; edges
            # kept current on new works are issue 6's.
            authors = [chooser.choice(self.researchers)]
            try:
                add_work(self.settings, f"Fault-test work {i}", authors)
            except Exception:
                self.api_errors += 1  # the database is down: nothing was committed
            return
        member = chooser.choice(self.members)
        researcher = chooser.choice(self.researchers)
        key = (member.account_id, researcher)
        query = UNFOLLOW if key in self.following else FOLLOW
        try:
            body = self.graphql(query, {"id": to_global_id("Researcher", researcher)}, member.token)
        except (httpx.HTTPError, ValueError):
            body = {"errors": ["transport"]}
        if "errors" in body:
            self.api_errors += 1
        else:
            self.following ^= {key}

    # Checks

    def wait_until_settled(self, timeout: float = 120) -> None:
        """Wait until every consumed event is processed and no trust refresh waits; fail if
        that takes longer than ``timeout``."""

        def settled() -> None:
            try:
                ((unprocessed,),) = sql(
                    self.settings,
                    "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL "
                    "AND event_type IN ('follows.created', 'follows.deleted', 'works.added')",
                )
                ((stale,),) = sql(self.settings, "SELECT count(*) FROM trust_stale")
            except Exception as error:  # the database is still coming back
                raise AssertionError(f"database: {error}") from error
            assert (unprocessed, stale) == (0, 0), (
                f"{unprocessed} events unprocessed, {stale} trust refreshes waiting"
            )

        eventually(settled, timeout=timeout, interval=0.2)

    def wait_for_applied(self, name: str, events: int, timeout: float = 60) -> None:
        """Wait until the latest ``name`` worker has applied ``events`` events (it is busy)."""
        self.wait_for_log(name, "event.applied", timeout=timeout, times=events)

    def broker_holds(self, queue: str = EVENTS_QUEUE) -> dict[str, int]:
        """Messages of ``queue`` the broker still holds, by Redis key: queued, delayed for a
        retry (``.DQ``), dead-lettered (``.XQ``), and fetched by a worker but not acknowledged
        (``__acks__.<worker>.<queue>``: in flight). Redis drops a key once it is empty."""
        namespace = self.settings.broker_namespace
        client = self.redis.client()
        try:
            held = {}
            for key in client.scan_iter(match=f"{namespace}:*"):
                name = key.decode()[len(namespace) + 1 :]
                ours = (
                    name == queue
                    or name.startswith(f"{queue}.")
                    or (
                        name.startswith("__acks__.")
                        and name.endswith((f".{queue}", f".{queue}.DQ"))
                    )
                )
                if not ours:
                    continue
                kind = client.type(key)
                kind = kind.decode() if isinstance(kind, bytes) else str(kind)
                if kind == "none":  # emptied (so deleted) between SCAN and TYPE
                    continue
                size = {
                    "list": client.llen,
                    "hash": client.hlen,
                    "set": client.scard,
                    "zset": client.zcard,
                }[kind](key)
                if size:
                    held[name] = int(size)
            return held
        finally:
            client.close()

    def worker_counts(self, name: str) -> Counter[str]:
        """The counts the latest ``name`` worker logged as it stopped (``processed``,
        ``duplicates``, ``dead_lettered``...); fails if it did not stop cleanly."""
        text = self.log_path(name).read_text(errors="replace")
        for line in reversed(text.splitlines()):
            if '"worker.stopped"' in line:
                record = json.loads(line)
                return Counter({k: v for k, v in record.items() if isinstance(v, int)})
        raise AssertionError(f"{name} did not log its counts as it stopped:\n{text[-3000:]}")

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

    def outcome(self) -> Outcome:
        """Stop every process, then count against the source tables (a plain SQL recount) and
        the oracle (``recompute --all``)."""
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
        stored = recount(self.settings)
        below = sum(
            1 for m in stored if m.what.endswith(("followers_count", "works_count")) and m.below
        )
        above = sum(
            1 for m in stored if m.what.endswith(("followers_count", "works_count")) and m.above
        )
        details = [f"workers vs recount: {m}" for m in stored]
        twice = sum(1 for event_id in committed_ids if applied[event_id] > 1)
        never = sum(1 for event_id in committed_ids if applied[event_id] == 0)
        # Not a fault by itself: a worker killed between its commit and its log line.
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
        recomputed = recount(self.settings)
        details += [f"recompute --all vs recount: {m}" for m in recomputed]
        return Outcome(
            committed=len(committed_ids),
            lost=int(unprocessed) + below,
            applied_twice=twice + above,
            recount_mismatches=len(stored),
            oracle_mismatches=len(mismatches),
            oracle_recount_mismatches=len(recomputed),
            details=details,
        )
