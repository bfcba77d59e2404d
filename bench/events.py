"""Event pipeline benchmark: a follow through outbox, relay, Dramatiq on Redis and the worker's
``follows.created`` actor, against a no-op Dramatiq actor on the same Redis.

Setup (every run, from scratch): the database ``--database`` (default ``bzpeer_bench_events``)
is dropped and created, ``bzpeer migrate`` and ``bzpeer demo load`` run, then plain SQL adds
``--researchers`` researchers to follow (default 250) and enough confirmed accounts, each with
a session whose bearer token is stored as its SHA-256 like a sign-in stores it (Argon2 is not
involved). Every follow of the run is a fresh (account, researcher) pair; consecutive follows
go to different researchers and different accounts.

Processes, each in its own process group, stopped at the end (also on errors and Ctrl-C):
``bzpeer serve --api-only --workers 2`` (``--api-workers``), ``bzpeer relay``, and first one,
then two ``bzpeer worker --threads 64`` (``--threads``, the service's default). All run with
``BZPEER_ENV=production``, the follow rate limit raised to 1000000/minute, ``REDIS_URL``
``--redis-url`` (default db 5) and the broker namespace ``--namespace``, logging at WARNING
(``--worker-log-level INFO`` adds the tallies relay and workers log when they stop, and a log
line per event). The Redis keys of both namespaces are deleted at the start and the end; nothing
else in Redis is touched. Readiness: ``/readyz`` for the API, the relay's LISTEN in
``pg_stat_activity``, a new broker in the namespace's Dramatiq heartbeat set for a worker.

What is measured, with one and then with two worker processes, ``--rounds`` times each:

- ``latency``: follows at a moderate, open-loop rate (``--rate``, default 20/s, for
  ``--latency-seconds``, default 10 s) through the API's ``follow`` mutation. For each, the time
  from sending the mutation to the moment the followed researcher's ``followers_count`` (the
  column ``researcher { counts { followers } }`` returns; checked equal through GraphQL at the
  end) shows the new count. The count is polled in the database by this script (one indexed
  SELECT every ``--poll-ms``, default 2 ms, over the researchers still waiting), not through the
  API, so that the polling does not load the API. p50/p99 in ms, plus the mutation's own
  response time.
- ``api``: ``--api-follows`` follows (default 1000) driven as fast as possible by ``--clients``
  (default 32) concurrent httpx clients. Printed: the API's follow rate (follows answered per s,
  first send to last answer) and the end-to-end event rate (follows per s from the first send
  to the last event's ``processed_at`` on the outbox). On a small machine the API is the
  bottleneck here, so the next figure isolates relay and workers.
- ``events`` (worker only): ``--events`` follows (default 2500) and their ``follows.created``
  outbox rows inserted by one SQL statement while the relay runs; events per s from its commit
  (the outbox trigger's NOTIFY wakes the relay) to the last ``processed_at``.
- ``no-op`` (the baseline): as many messages, with the same kwargs as the relay sends, enqueued
  one by one (as the relay does) by this script on a broker built by ``workers.broker``'s
  ``create_broker`` (same middleware, heartbeat and maintenance settings) in a namespace of its
  own, consumed by one, then two worker processes running ``dramatiq.Worker`` with the same
  threads and poll interval as ``bzpeer worker`` and an actor that only INCRs a Redis counter;
  messages per s from the first enqueue to the counter reaching the count (polled every 2 ms).
  The no-op workers idle while ours are measured and the other way round. With two no-op
  workers this rate comes close to the enqueue rate (one Redis round trip per message, as the
  relay sends them), which is printed too.

After each phase the outbox is drained (events that no consumer processed, dead letters and
counters that differ from ``count(*)`` of the follows are reported) and the trust refresh has
emptied ``trust_stale`` (the time it took is printed) before the next starts. Before the
rounds of each worker count, a warm-up of 100 follows through the API (any failure aborts: the
service must work) and 200 no-op messages. Printed per round and as medians: the figures above,
the CPU seconds used by each process role and the CPU time per follow or event of the API, the
workers, PostgreSQL and the relay (``other`` is everything else on the machine: a phase where
it exceeds 10% of the machine is flagged as disturbed). Then a check of the processes' logs
(warnings, errors, tracebacks, unclean exits; the tallies at INFO) and the goals:
follow-to-count p99 <= 100 ms at moderate load, >= 2,000 worker-only events/s with two
workers, and the ratio of that to the no-op rate with two workers >= 0.5. The last two lines are::

    events throughput ratio to no-op: X
    follow-to-counts.followers p99: Y ms

X: worker-only events/s with two workers over no-op messages/s with two workers (medians of
rounds); Y: the median over the two-worker rounds of each round's p99.

Run from the repository root::

    .venv/bin/python bench/events.py            # about 4 minutes on 2 cores
    .venv/bin/python bench/events.py --quick    # about 1 minute, one round of smaller phases

The default phase sizes keep a run under 5 minutes on a 2-core machine at the rates measured
(about 50-65 follows/s through the API, 900-1,450 events/s through the workers); faster code
makes the phases shorter, not fewer.

Measured at commit "Broker: our own Redis client ..." (medians of 3 rounds, 2 cores shared by
everything): two workers 1,353 events/s against 2,618 no-op msgs/s (ratio 0.52), follow-to-count
p50 57 ms, p99 152 ms (the mutation's own p99 was 62-130 ms of it); one worker 991 against
2,474 (0.40), p99 80-133 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import random
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import httpx
import orjson
import redis
from dramatiq import Message

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make ``service`` and ``workers`` importable
    sys.path.insert(0, str(REPO_ROOT))

from bench.proc import processes_cpu  # noqa: E402
from service.accounts.secrets import token_digest  # noqa: E402
from service.config import Settings  # noqa: E402
from service.graphql.relay import to_global_id  # noqa: E402
from workers.broker import EVENTS_QUEUE, create_broker  # noqa: E402
from workers.runtime import WORKER_POLL_MS  # noqa: E402

GOAL_P99_MS = 100.0
GOAL_EVENTS_PER_S = 2_000.0
GOAL_RATIO = 0.5
WORKER_COUNTS = (1, 2)
READY_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0
"""Longer than the relay's reconciler needs to send a lost message again (30 s + 5 s)."""
LATENCY_TIMEOUT_S = 45.0
TRUST_TIMEOUT_S = 30.0
DRAIN_POLL_S = 0.02
OTHER_CPU_WARNING = 0.10
"""Share of the machine's CPU time that processes outside the benchmark may use in a phase
before a warning says its figures are disturbed."""
NOOP_POLL_S = 0.002
WARMUP_FOLLOWS = 100
WARMUP_MESSAGES = 200
FOLLOW_RATE_LIMIT = "1000000/minute"
NOOP_ACTOR = "bench.noop"

FOLLOW_MUTATION = (
    "mutation Follow($id: ID!) { follow(input: {researcherId: $id}) "
    "{ researcher { id viewerFollows } } }"
)
COUNTS_QUERY = "query Counts($id: ID!) { researcher(id: $id) { counts { followers } } }"

FULL = {"rounds": 3, "latency_seconds": 10.0, "api_follows": 1000, "events": 2500}
QUICK = {"rounds": 1, "latency_seconds": 4.0, "api_follows": 600, "events": 2000}

NOOP_WORKER = textwrap.dedent(
    '''
    """A no-op Dramatiq worker: the service's broker settings, an actor that counts."""
    import signal
    import sys
    import threading

    import dramatiq

    from service.config import Settings
    from workers.broker import EVENTS_QUEUE, create_broker

    actor_name, threads, poll_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = Settings()
    broker = create_broker(settings)
    client = broker.client
    done_key = f"{settings.broker_namespace}:bench-done"


    def noop(**_kwargs):
        client.incr(done_key)


    dramatiq.Actor(
        noop, broker=broker, actor_name=actor_name, queue_name=EVENTS_QUEUE, priority=0,
        options={},
    )
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=poll_ms)
    worker.start()
    client.incr(f"{settings.broker_namespace}:bench-ready")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    worker.stop(timeout=10_000)
    '''
)


# -- arguments ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Event pipeline: follow -> outbox -> relay -> worker, vs a no-op actor."
    )
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL, without a database",
    )
    parser.add_argument(
        "--database", default="bzpeer_bench_events", help="dropped and created at the start"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument(
        "--namespace",
        default="bzpeer-bench-events",
        help="broker namespace (the no-op baseline uses <namespace>-noop)",
    )
    parser.add_argument("--researchers", type=int, default=250, help="researchers to follow")
    parser.add_argument("--rate", type=float, default=20.0, help="follows/s of the latency phase")
    parser.add_argument("--latency-seconds", type=float, help="default 10 (--quick: 4)")
    parser.add_argument("--poll-ms", type=float, default=2.0, help="counter polling interval")
    parser.add_argument("--clients", type=int, default=32, help="concurrent API clients")
    parser.add_argument("--api-follows", type=int, help="follows per api round (1000; quick 600)")
    parser.add_argument(
        "--events", type=int, help="events per worker-only round (2500; quick 2000)"
    )
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=64, help="threads per worker process (ours and no-op)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per worker count (3; quick 1)")
    parser.add_argument(
        "--worker-log-level",
        default="WARNING",
        help="BZPEER_LOG_LEVEL of relay and workers; INFO prints their tallies at the end, at "
        "the cost of a log line per event",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


# -- processes ------------------------------------------------------------------------------


@dataclass(slots=True)
class Proc:
    name: str
    role: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(
                f"ABORT: {self.name} exited ({self.process.returncode}):\n{self.tail()}"
            )


@dataclass(slots=True)
class Processes:
    log_dir: Path
    running: list[Proc] = field(default_factory=list)
    stopped: list[Proc] = field(default_factory=list)

    def start(self, name: str, role: str, command: list[str], env: dict[str, str]) -> Proc:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, role, process, log_path)
        self.running.append(proc)
        return proc

    def pgids(self, role: str) -> list[int]:
        return [p.process.pid for p in self.running if p.role == role]

    def stop_all(self) -> None:
        """SIGTERM to every process group (newest first), SIGKILL after 15 s."""
        for proc in reversed(self.running):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in reversed(self.running):
            try:
                proc.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.process.pid, signal.SIGKILL)
                proc.process.wait()
        self.stopped.extend(self.running)
        self.running.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(args: argparse.Namespace) -> str:
    return f"{args.server.rstrip('/')}/{args.database}"


def service_env(
    args: argparse.Namespace, log_dir: Path, namespace: str, level: str
) -> dict[str, str]:
    """The environment of our processes: inherited, minus any ``BZPEER_*`` setting of the
    caller's shell, plus the bench's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BZPEER_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "DATABASE_URL": database_url(args),
            "REDIS_URL": args.redis_url,
            "BZPEER_BROKER_NAMESPACE": namespace,
            "BZPEER_ENV": "production",
            "BZPEER_LOG_LEVEL": level,
            "BZPEER_RATE_LIMIT_FOLLOWS_PER_ACCOUNT": FOLLOW_RATE_LIMIT,
            "BZPEER_DATA_DIR": str(log_dir / "data"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


def bzpeer(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", *arguments]


def run_cli(args: argparse.Namespace, log_dir: Path, *arguments: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        bzpeer(*arguments),
        cwd=REPO_ROOT,
        env=service_env(args, log_dir, args.namespace, "WARNING"),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"ABORT: bzpeer {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return time.perf_counter() - started


async def wait_http_ready(proc: Proc, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            proc.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SystemExit(f"ABORT: {proc.name} not ready:\n{proc.tail()}")
            await asyncio.sleep(0.2)


# -- CPU accounting -------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROLES = ("api", "relay", "worker", "noop", "postgres", "redis", "bench")


def machine_busy_s() -> float:
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_snapshot(processes: Processes) -> dict[str, float]:
    """CPU seconds so far of each role: our process groups, every PostgreSQL and Redis
    process, this script; ``busy`` is the whole machine's."""
    groups = {pgid: role for role in ROLES for pgid in processes.pgids(role)}
    ticks: Counter[str] = Counter()
    for process in processes_cpu():
        role = groups.get(process.pgrp)
        if role is None and process.comm.startswith("postgres"):
            role = "postgres"
        elif role is None and process.comm.startswith("redis-server"):
            role = "redis"
        if role is not None:
            ticks[role] += process.ticks
    seconds = {role: ticks[role] / CLOCK_TICKS for role in ROLES}
    own = resource.getrusage(resource.RUSAGE_SELF)
    seconds["bench"] = own.ru_utime + own.ru_stime
    seconds["busy"] = machine_busy_s()
    seconds["wall"] = time.monotonic()
    return seconds


def cpu_since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    spent = {role: after[role] - before[role] for role in ROLES}
    spent["other"] = max(0.0, after["busy"] - before["busy"] - sum(spent.values()))
    return {role: value for role, value in spent.items() if value >= 0.05}


def format_cpu(cpu: dict[str, float]) -> str:
    return "cpu s: " + " ".join(f"{role} {value:.1f}" for role, value in cpu.items())


def per_item_ms(cpu: dict[str, float], role: str, items: int) -> str:
    return f"{cpu.get(role, 0.0) / items * 1000:.2f}" if items else "-"


# -- data -----------------------------------------------------------------------------------


async def recreate_database(args: argparse.Namespace) -> None:
    connection = await asyncpg.connect(f"{args.server.rstrip('/')}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{args.database}"')
    finally:
        await connection.close()


@dataclass(frozen=True, slots=True)
class BenchData:
    researchers: list[int]
    accounts: list[int]
    tokens: dict[int, str]
    """Bearer token of each account's session."""


async def add_bench_data(url: str, researchers: int, accounts: int, seed: int) -> BenchData:
    """Researchers to follow and confirmed accounts with a live session each, by plain SQL."""
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            researcher_ids = [
                r[0]
                for r in await connection.fetch(
                    """INSERT INTO researchers (display_name, search_name)
                    SELECT 'Bench Researcher ' || g, 'bench researcher ' || g
                    FROM generate_series(1, $1) AS g ORDER BY g RETURNING id""",
                    researchers,
                )
            ]
            account_ids = [
                r[0]
                for r in await connection.fetch(
                    """INSERT INTO accounts (email, display_name, password_hash,
                                             email_confirmed_at)
                    SELECT 'bench' || g || '@bench.test', 'Bench Follower ' || g, NULL, now()
                    FROM generate_series(1, $1) AS g ORDER BY g RETURNING id""",
                    accounts,
                )
            ]
            tokens = {a: secrets.token_urlsafe(32) for a in account_ids}
            await connection.execute(
                """INSERT INTO account_sessions (account_id, token_hash, created_at, expires_at)
                SELECT a, h, now(), now() + interval '30 days'
                FROM unnest($1::bigint[], $2::text[]) AS s(a, h)""",
                account_ids,
                [token_digest(tokens[a]) for a in account_ids],
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    rng = random.Random(seed)
    rng.shuffle(researcher_ids)
    rng.shuffle(account_ids)
    return BenchData(researcher_ids, account_ids, tokens)


class Pairs:
    """Fresh (account, researcher) pairs: sweep ``s`` gives researcher ``p`` the account
    ``(s + p) mod A``, so a pair never repeats, and consecutive pairs differ in both."""

    def __init__(self, accounts: Sequence[int], researchers: Sequence[int]) -> None:
        if len(accounts) < len(researchers):
            raise ValueError("need at least as many accounts as researchers")
        self.accounts = list(accounts)
        self.researchers = list(researchers)
        self.taken = 0

    def take(self, n: int) -> list[tuple[int, int]]:
        pairs = []
        for k in range(self.taken, self.taken + n):
            sweep, position = divmod(k, len(self.researchers))
            if sweep >= len(self.accounts):
                raise SystemExit("ABORT: out of fresh (account, researcher) pairs")
            account = self.accounts[(sweep + position) % len(self.accounts)]
            pairs.append((account, self.researchers[position]))
        self.taken += n
        return pairs


def accounts_needed(args: argparse.Namespace) -> int:
    per_config = args.rounds * (
        max(1, round(args.rate * args.latency_seconds)) + args.api_follows + args.events
    )
    total = len(WORKER_COUNTS) * (per_config + WARMUP_FOLLOWS)
    return int(max(args.researchers, math.ceil(total / args.researchers) + 1))


# -- measuring helpers ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(slots=True)
class Bench:
    args: argparse.Namespace
    processes: Processes
    pool: Any
    """asyncpg pool on the bench database."""
    client: httpx.AsyncClient
    data: BenchData
    pairs: Pairs
    noop: NoopBaseline
    warnings: list[str] = field(default_factory=list)

    def cpu(
        self, label: str, before: dict[str, float], after: dict[str, float]
    ) -> dict[str, float]:
        """CPU seconds per role between two snapshots; warns when processes outside the
        benchmark took a noticeable share of the machine meanwhile."""
        spent = cpu_since(before, after)
        capacity = (os.cpu_count() or 1) * (after["wall"] - before["wall"])
        if spent.get("other", 0.0) > OTHER_CPU_WARNING * capacity:
            self.warnings.append(
                f"{label}: processes outside the benchmark used {spent['other']:.1f} of "
                f"{capacity:.1f} CPU s: its figures are disturbed"
            )
        return spent

    def follow_body(self, researcher_id: int) -> bytes:
        return orjson.dumps(
            {
                "query": FOLLOW_MUTATION,
                "operationName": "Follow",
                "variables": {"id": to_global_id("Researcher", researcher_id)},
            }
        )

    async def follow(self, account_id: int, body: bytes) -> str | None:
        """Send one follow; None when it succeeded, else what went wrong."""
        try:
            response = await self.client.post(
                "/graphql",
                content=body,
                headers={
                    "content-type": "application/json",
                    "authorization": f"Bearer {self.data.tokens[account_id]}",
                },
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        document = orjson.loads(response.content)
        if document.get("errors"):
            return str(document["errors"][0].get("message"))
        researcher = ((document.get("data") or {}).get("follow") or {}).get("researcher") or {}
        if researcher.get("viewerFollows") is not True:
            return f"unexpected answer: {response.text[:200]}"
        return None

    async def last_outbox_id(self) -> int:
        return int(await self.pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox_events"))

    async def wait_drained(self, label: str, after_id: int) -> bool:
        """Until no event after ``after_id`` waits for a consumer (dead letters excluded)."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while True:
            waiting = await self.pool.fetchval(
                """SELECT count(*) FROM outbox_events
                WHERE processed_at IS NULL AND failed_at IS NULL AND id > $1""",
                after_id,
            )
            if waiting == 0:
                return True
            if time.monotonic() > deadline:
                self.warnings.append(
                    f"{label}: {waiting} events not processed {DRAIN_TIMEOUT_S:.0f} s after "
                    "the phase (lost, or the reconciler is late)"
                )
                return False
            await asyncio.sleep(DRAIN_POLL_S)

    async def phase_events(self, after_id: int) -> PhaseEvents:
        row = await self.pool.fetchrow(
            """SELECT count(*) AS events, count(processed_at) AS processed,
                      count(failed_at) FILTER (WHERE processed_at IS NULL) AS failed,
                      max(processed_at) AS last
            FROM outbox_events WHERE id > $1 AND event_type = 'follows.created'""",
            after_id,
        )
        last: dt.datetime | None = row["last"]
        return PhaseEvents(
            int(row["events"]),
            int(row["processed"]),
            int(row["failed"]),
            last.timestamp() if last else math.nan,
        )

    async def settle(self, label: str) -> float:
        """Wait for the trust refresh to empty ``trust_stale``; check the counters against
        the follows. Returns the seconds waited."""
        started = time.perf_counter()
        deadline = time.monotonic() + TRUST_TIMEOUT_S
        while await self.pool.fetchval("SELECT count(*) FROM trust_stale"):
            if time.monotonic() > deadline:
                self.warnings.append(f"{label}: trust_stale not empty after {TRUST_TIMEOUT_S} s")
                break
            await asyncio.sleep(DRAIN_POLL_S)
        settled = time.perf_counter() - started
        wrong = await self.pool.fetchval(
            """SELECT count(*) FROM researchers AS r WHERE r.followers_count <>
            (SELECT count(*) FROM follows AS f WHERE f.researcher_id = r.id)"""
        )
        if wrong:
            self.warnings.append(f"{label}: {wrong} researchers' followers_count != follows")
        return settled

    def check_events(self, label: str, expected: int, events: PhaseEvents) -> None:
        if events.events != expected:
            self.warnings.append(f"{label}: {events.events} outbox rows for {expected} follows")
        if events.processed != events.events:
            self.warnings.append(
                f"{label}: {events.events - events.processed} of {events.events} events not "
                f"processed ({events.failed} dead-lettered)"
            )


@dataclass(frozen=True, slots=True)
class PhaseEvents:
    events: int
    processed: int
    failed: int
    last_processed: float
    """Wall-clock time of the last ``processed_at`` (NaN when none)."""


# -- latency --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyRound:
    follows: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    mutation_p50_ms: float
    mutation_p99_ms: float
    errors: int
    lost: int
    latencies: tuple[float, ...]
    cpu: dict[str, float]

    def line(self) -> str:
        lost = f"  LOST {self.lost}" if self.lost else ""
        errors = f"  ERRORS {self.errors}" if self.errors else ""
        return (
            f"latency  {self.follows} follows at {self.follows / self.seconds:.1f}/s: "
            f"follow->count p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  "
            f"max {self.max_ms:6.1f} ms (goal p99 <= {GOAL_P99_MS:.0f})  "
            f"mutation p50 {self.mutation_p50_ms:5.1f} ms  p99 {self.mutation_p99_ms:5.1f} ms"
            f"{errors}{lost}  {format_cpu(self.cpu)}"
        )


@dataclass(slots=True)
class Waiting:
    expected: int
    sent: float = 0.0


async def latency_round(bench: Bench, label: str) -> LatencyRound:
    args = bench.args
    n = max(1, round(args.rate * args.latency_seconds))
    pairs = bench.pairs.take(n)
    ids = sorted({r for _, r in pairs})
    counts = {
        r["id"]: r["followers_count"]
        for r in await bench.pool.fetch(
            "SELECT id, followers_count FROM researchers WHERE id = ANY($1::bigint[])", ids
        )
    }
    expected = []
    for _, researcher in pairs:
        counts[researcher] += 1
        expected.append(counts[researcher])
    bodies = [bench.follow_body(r) for _, r in pairs]

    waiting: dict[int, list[Waiting]] = defaultdict(list)
    latencies: list[float] = []
    mutation_ms: list[float] = []
    errors: Counter[str] = Counter()
    lost = 0
    sent_all = asyncio.Event()
    poll_s = args.poll_ms / 1000

    async def poll() -> None:
        nonlocal lost
        while not (sent_all.is_set() and not waiting):
            if waiting:
                rows = await bench.pool.fetch(
                    "SELECT id, followers_count FROM researchers WHERE id = ANY($1::bigint[])",
                    list(waiting),
                )
                now = time.perf_counter()
                for row in rows:
                    still = []
                    for entry in waiting.get(row["id"], []):
                        if not entry.sent:
                            still.append(entry)  # registered, not sent yet
                        elif row["followers_count"] >= entry.expected:
                            latencies.append((now - entry.sent) * 1000)
                        elif now - entry.sent > LATENCY_TIMEOUT_S:
                            lost += 1
                        else:
                            still.append(entry)
                    if still:
                        waiting[row["id"]] = still
                    else:
                        waiting.pop(row["id"], None)
            await asyncio.sleep(poll_s)

    async def one(account: int, researcher: int, body: bytes, want: int) -> None:
        entry = Waiting(want)
        waiting[researcher].append(entry)
        entry.sent = time.perf_counter()
        error = await bench.follow(account, body)
        mutation_ms.append((time.perf_counter() - entry.sent) * 1000)
        if error is not None:
            errors[error] += 1
            entries = waiting.get(researcher, [])
            if entry in entries:
                entries.remove(entry)
                if not entries:
                    waiting.pop(researcher, None)

    before = cpu_snapshot(bench.processes)
    poller = asyncio.create_task(poll())
    tasks = []
    start = time.perf_counter()
    try:
        for i, ((account, researcher), body, want) in enumerate(
            zip(pairs, bodies, expected, strict=True)
        ):
            delay = start + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(account, researcher, body, want)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
        sent_all.set()
        await poller
    finally:
        poller.cancel()
    after = cpu_snapshot(bench.processes)
    for message, count in errors.items():
        bench.warnings.append(f"{label}: {count} follows failed: {message}")
    if lost:
        bench.warnings.append(f"{label}: {lost} counts not seen in {LATENCY_TIMEOUT_S:.0f} s")
    await bench.settle(label)
    return LatencyRound(
        follows=n,
        seconds=seconds,
        p50_ms=statistics.median(latencies) if latencies else math.nan,
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=math.nan),
        mutation_p50_ms=statistics.median(mutation_ms),
        mutation_p99_ms=percentile(mutation_ms, 99),
        errors=sum(errors.values()),
        lost=lost,
        latencies=tuple(latencies),
        cpu=bench.cpu(label, before, after),
    )


# -- throughput through the API -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiRound:
    follows: int
    errors: int
    api_rate: float
    """Follows answered per second, first send to last answer."""
    events_rate: float
    """Events processed per second, first send to the last ``processed_at``."""
    drain_lag_s: float
    mutation_p50_ms: float
    mutation_p99_ms: float
    trust_s: float
    cpu: dict[str, float]

    def line(self, clients: int) -> str:
        errors = f"  ERRORS {self.errors}" if self.errors else ""
        return (
            f"api      {self.follows} follows, {clients} clients: API {self.api_rate:7.1f} "
            f"follows/s (mutation p50 {self.mutation_p50_ms:.0f} ms, p99 "
            f"{self.mutation_p99_ms:.0f} ms; {per_item_ms(self.cpu, 'api', self.follows)} ms "
            f"API CPU per follow), end to end {self.events_rate:7.1f} events/s (last event "
            f"{self.drain_lag_s * 1000:.0f} ms after the last answer; trust settled "
            f"{self.trust_s:.2f} s later){errors}  {format_cpu(self.cpu)}"
        )


async def api_round(bench: Bench, label: str) -> ApiRound:
    pairs = bench.pairs.take(bench.args.api_follows)
    work = iter([(account, bench.follow_body(r)) for account, r in pairs])
    errors: Counter[str] = Counter()
    mutation_ms: list[float] = []
    after_id = await bench.last_outbox_id()

    async def client() -> None:
        for account, body in work:  # shared iterator: each follow is sent once
            sent = time.perf_counter()
            error = await bench.follow(account, body)
            mutation_ms.append((time.perf_counter() - sent) * 1000)
            if error is not None:
                errors[error] += 1

    before = cpu_snapshot(bench.processes)
    started = time.time()
    await asyncio.gather(*(client() for _ in range(bench.args.clients)))
    answered = time.time()
    await bench.wait_drained(label, after_id)
    after = cpu_snapshot(bench.processes)
    events = await bench.phase_events(after_id)
    ok = len(pairs) - sum(errors.values())
    bench.check_events(label, ok, events)
    for message, count in errors.items():
        bench.warnings.append(f"{label}: {count} follows failed: {message}")
    trust_s = await bench.settle(label)
    return ApiRound(
        follows=len(pairs),
        errors=sum(errors.values()),
        api_rate=ok / (answered - started),
        events_rate=events.processed / (events.last_processed - started),
        drain_lag_s=events.last_processed - answered,
        mutation_p50_ms=statistics.median(mutation_ms),
        mutation_p99_ms=percentile(mutation_ms, 99),
        trust_s=trust_s,
        cpu=bench.cpu(label, before, after),
    )


# -- throughput of relay and workers --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventsRound:
    events: int
    rate: float
    trust_s: float
    cpu: dict[str, float]

    def line(self) -> str:
        return (
            f"events   {self.events} follows + outbox rows by SQL: {self.rate:7.1f} events/s "
            f"(relay + workers; goal >= {GOAL_EVENTS_PER_S:,.0f} with 2 workers; CPU per "
            f"event: worker {per_item_ms(self.cpu, 'worker', self.events)} ms, postgres "
            f"{per_item_ms(self.cpu, 'postgres', self.events)} ms, relay "
            f"{per_item_ms(self.cpu, 'relay', self.events)} ms; trust settled "
            f"{self.trust_s:.2f} s later)  {format_cpu(self.cpu)}"
        )


INSERT_FOLLOWS_SQL = """
WITH pairs AS (
    SELECT a, r, n FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS p(a, r, n)
), followed AS (
    INSERT INTO follows (account_id, researcher_id) SELECT a, r FROM pairs
)
INSERT INTO outbox_events (event_type, payload)
SELECT 'follows.created', jsonb_build_object('account_id', a, 'researcher_id', r)
FROM pairs ORDER BY n
"""


async def events_round(bench: Bench, label: str) -> EventsRound:
    pairs = bench.pairs.take(bench.args.events)
    after_id = await bench.last_outbox_id()
    before = cpu_snapshot(bench.processes)
    async with bench.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute(INSERT_FOLLOWS_SQL, [a for a, _ in pairs], [r for _, r in pairs])
        committed = time.time()
        await transaction.commit()
    await bench.wait_drained(label, after_id)
    after = cpu_snapshot(bench.processes)
    events = await bench.phase_events(after_id)
    bench.check_events(label, len(pairs), events)
    trust_s = await bench.settle(label)
    return EventsRound(
        events=len(pairs),
        rate=events.processed / (events.last_processed - committed),
        trust_s=trust_s,
        cpu=bench.cpu(label, before, after),
    )


# -- the no-op baseline ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoopRound:
    messages: int
    rate: float
    enqueue_rate: float
    cpu: dict[str, float]

    def line(self) -> str:
        return (
            f"no-op    {self.messages} messages: {self.rate:7.1f} msgs/s (enqueued at "
            f"{self.enqueue_rate:.0f}/s; no-op worker CPU per message "
            f"{per_item_ms(self.cpu, 'noop', self.messages)} ms)  {format_cpu(self.cpu)}"
        )


class NoopBaseline:
    """The bench's side of the baseline: a broker like the relay's in the no-op namespace."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.namespace = namespace
        settings = Settings.model_validate({"REDIS_URL": redis_url, "broker_namespace": namespace})
        self.broker = create_broker(settings)
        self.client: redis.Redis = redis.Redis.from_url(redis_url)
        self.done_key = f"{namespace}:bench-done"
        self.ready_key = f"{namespace}:bench-ready"
        self.sent = 0
        self.enqueued_s = math.nan

    def ready(self) -> int:
        return int(self.client.get(self.ready_key) or 0)

    def run(self, pairs: Sequence[tuple[int, int]], timeout: float = DRAIN_TIMEOUT_S) -> float:
        """Enqueue one message per pair; returns the seconds until all were consumed."""
        messages: list[Message[Any]] = []
        for account, researcher in pairs:
            self.sent += 1
            messages.append(
                Message(
                    queue_name=EVENTS_QUEUE,
                    actor_name=NOOP_ACTOR,
                    args=(),
                    kwargs={
                        "event_id": self.sent,
                        "account_id": account,
                        "researcher_id": researcher,
                    },
                    options={},
                    message_id=str(self.sent),
                )
            )
        self.client.set(self.done_key, 0)
        started = time.perf_counter()
        for message in messages:
            self.broker.enqueue(message)
        self.enqueued_s = time.perf_counter() - started
        deadline = time.monotonic() + timeout
        while int(self.client.get(self.done_key) or 0) < len(messages):
            if time.monotonic() > deadline:
                raise SystemExit("ABORT: the no-op workers did not consume every message")
            time.sleep(NOOP_POLL_S)
        return time.perf_counter() - started

    def close(self) -> None:
        self.broker.close()
        self.client.close()


async def noop_round(bench: Bench, label: str) -> NoopRound:
    count = bench.args.events
    accounts, researchers = bench.data.accounts, bench.data.researchers
    pairs = [(accounts[i % len(accounts)], researchers[i % len(researchers)]) for i in range(count)]
    before = cpu_snapshot(bench.processes)
    seconds = await asyncio.to_thread(bench.noop.run, pairs)
    after = cpu_snapshot(bench.processes)
    return NoopRound(
        messages=count,
        rate=count / seconds,
        enqueue_rate=count / bench.noop.enqueued_s,
        cpu=bench.cpu(label, before, after),
    )


def delete_namespace(redis_url: str, *namespaces: str) -> None:
    client: redis.Redis = redis.Redis.from_url(redis_url)
    try:
        for namespace in namespaces:
            keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
    finally:
        client.close()


# -- one worker configuration ---------------------------------------------------------------


@dataclass(slots=True)
class ConfigResults:
    workers: int
    latency: list[LatencyRound] = field(default_factory=list)
    api: list[ApiRound] = field(default_factory=list)
    events: list[EventsRound] = field(default_factory=list)
    noop: list[NoopRound] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}"


@dataclass(frozen=True, slots=True)
class Launch:
    """How worker processes are started."""

    worker_env: dict[str, str]
    noop_env: dict[str, str]
    noop_script: Path


async def wait_consuming(bench: Bench, proc: Proc, known: set[Any], since_ms: float) -> None:
    """Until a broker that was not in ``known`` beats in the namespace's heartbeat set: Dramatiq
    records one with every Redis call, and an idle consumer polls every few ms."""
    key = f"{bench.args.namespace}:__heartbeats__"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        beating = await asyncio.to_thread(bench.noop.client.zrangebyscore, key, since_ms, "+inf")
        if set(beating) - known:
            return
        proc.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"ABORT: {proc.name} does not consume:\n{proc.tail()}")
        await asyncio.sleep(0.05)


async def start_workers(bench: Bench, launch: Launch, number: int) -> None:
    """Start our worker process ``number`` and the no-op one, and wait until both consume."""
    threads = str(bench.args.threads)
    key = f"{bench.args.namespace}:__heartbeats__"
    known = set(await asyncio.to_thread(bench.noop.client.zrange, key, 0, -1))
    since_ms = time.time() * 1000
    ours = bench.processes.start(
        f"worker-{number}", "worker", bzpeer("worker", "--threads", threads), launch.worker_env
    )
    await wait_consuming(bench, ours, known, since_ms)
    noop = bench.processes.start(
        f"noop-worker-{number}",
        "noop",
        [sys.executable, str(launch.noop_script), NOOP_ACTOR, threads, str(WORKER_POLL_MS)],
        launch.noop_env,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while await asyncio.to_thread(bench.noop.ready) < number:
        noop.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"ABORT: {noop.name} not ready:\n{noop.tail()}")
        await asyncio.sleep(0.05)


async def warm_up(bench: Bench, label: str) -> None:
    """Follows through the whole path (the service must work: any failure aborts) and no-op
    messages, so that connection pools and caches are warm before measuring."""
    pairs = bench.pairs.take(WARMUP_FOLLOWS)
    work = iter([(account, bench.follow_body(r)) for account, r in pairs])
    after_id = await bench.last_outbox_id()
    errors: list[str] = []

    async def client() -> None:
        for account, body in work:
            error = await bench.follow(account, body)
            if error is not None:
                errors.append(error)

    await asyncio.gather(*(client() for _ in range(min(16, bench.args.clients))))
    if errors:
        raise SystemExit(f"ABORT: {label}: {len(errors)} follows failed, first: {errors[0]}")
    if not await bench.wait_drained(label, after_id):
        raise SystemExit(f"ABORT: {label}: the warm-up's events were not processed")
    await bench.settle(label)
    accounts, researchers = bench.data.accounts, bench.data.researchers
    await asyncio.to_thread(
        bench.noop.run,
        [(accounts[i % len(accounts)], researchers[i]) for i in range(WARMUP_MESSAGES)],
    )


async def run_config(bench: Bench, workers: int) -> ConfigResults:
    results = ConfigResults(workers)
    for number in range(1, bench.args.rounds + 1):
        prefix = f"[{results.label}] round {number}  "
        latency = await latency_round(bench, f"{prefix}latency")
        results.latency.append(latency)
        print(prefix + latency.line(), flush=True)
        api = await api_round(bench, f"{prefix}api")
        results.api.append(api)
        print(prefix + api.line(bench.args.clients), flush=True)
        # Alternate which of worker-only and no-op goes first.
        for phase in ("events", "noop") if number % 2 else ("noop", "events"):
            if phase == "events":
                events = await events_round(bench, f"{prefix}events")
                results.events.append(events)
                print(prefix + events.line(), flush=True)
            else:
                noop = await noop_round(bench, f"{prefix}no-op")
                results.noop.append(noop)
                print(prefix + noop.line(), flush=True)
    return results


async def check_graphql_counts(bench: Bench, sample: int = 5) -> None:
    """``counts { followers }`` through the API equals the column polled and ``count(*)``."""
    rows = await bench.pool.fetch(
        """SELECT r.id, r.followers_count,
                  (SELECT count(*) FROM follows AS f WHERE f.researcher_id = r.id) AS follows
        FROM researchers AS r WHERE r.id = ANY($1::bigint[])""",
        bench.data.researchers[:sample],
    )
    for row in rows:
        body = orjson.dumps(
            {"query": COUNTS_QUERY, "variables": {"id": to_global_id("Researcher", row["id"])}}
        )
        response = await bench.client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        document = orjson.loads(response.content)
        try:
            followers = document["data"]["researcher"]["counts"]["followers"]
        except (KeyError, TypeError):
            bench.warnings.append(f"counts query failed: {response.text[:200]}")
            return
        if not followers == row["followers_count"] == row["follows"]:
            bench.warnings.append(
                f"researcher {row['id']}: counts.followers {followers}, column "
                f"{row['followers_count']}, follows {row['follows']}"
            )


async def run(
    args: argparse.Namespace, processes: Processes, log_dir: Path
) -> tuple[list[ConfigResults], list[str]]:
    url = database_url(args)
    noop_namespace = f"{args.namespace}-noop"
    await recreate_database(args)
    migrate_s = await asyncio.to_thread(run_cli, args, log_dir, "migrate")
    demo_s = await asyncio.to_thread(run_cli, args, log_dir, "demo", "load")
    data = await add_bench_data(url, args.researchers, accounts_needed(args), args.seed)
    print(
        f"database {args.database}: migrate {migrate_s:.1f} s, demo load {demo_s:.1f} s, "
        f"+ {len(data.researchers)} researchers, {len(data.accounts)} accounts with sessions"
    )

    pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
    noop = NoopBaseline(args.redis_url, noop_namespace)
    try:
        return await measure(args, processes, log_dir, pool, noop, data)
    finally:
        await pool.close()
        noop.close()


async def wait_listening(pool: Any, relay: Proc) -> None:
    """Until the relay LISTENs for the outbox trigger's NOTIFY."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not await pool.fetchval(
        """SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'LISTEN%'"""
    ):
        relay.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"ABORT: the relay does not LISTEN:\n{relay.tail()}")
        await asyncio.sleep(0.05)


async def measure(
    args: argparse.Namespace,
    processes: Processes,
    log_dir: Path,
    pool: Any,
    noop: NoopBaseline,
    data: BenchData,
) -> tuple[list[ConfigResults], list[str]]:
    port = free_port()
    api = processes.start(
        "api",
        "api",
        bzpeer(
            "serve",
            "--api-only",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.api_workers),
        ),
        service_env(args, log_dir, args.namespace, "WARNING"),
    )
    background_env = service_env(args, log_dir, args.namespace, args.worker_log_level)
    relay = processes.start("relay", "relay", bzpeer("relay"), background_env)
    base_url = f"http://127.0.0.1:{port}"
    await wait_http_ready(api, base_url)
    await wait_listening(pool, relay)
    noop_script = log_dir / "noop_worker.py"
    noop_script.write_text(NOOP_WORKER)
    launch = Launch(
        background_env,
        service_env(args, log_dir, f"{args.namespace}-noop", "WARNING"),
        noop_script,
    )
    print(
        f"machine: {os.cpu_count()} cores shared by PostgreSQL, Redis, the API "
        f"({args.api_workers} processes), the relay, the workers ({args.threads} threads each; "
        f"ours and the no-op ones) and this script; poll interval of consumers "
        f"{WORKER_POLL_MS} ms",
        flush=True,
    )
    results = []
    async with httpx.AsyncClient(
        base_url=base_url,
        limits=httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients),
        timeout=30,
    ) as client:
        bench = Bench(
            args, processes, pool, client, data, Pairs(data.accounts, data.researchers), noop
        )
        for workers in WORKER_COUNTS:
            await start_workers(bench, launch, workers)
            await warm_up(bench, f"warm-up with {workers} worker(s)")
            results.append(await run_config(bench, workers))
        await check_graphql_counts(bench)
        totals = await pool.fetchrow(
            """SELECT count(*) AS events, count(processed_at) AS processed,
                      count(failed_at) AS failed FROM outbox_events
            WHERE event_type = 'follows.created'"""
        )
        print(
            f"outbox: {totals['events']} follows.created events, {totals['processed']} "
            f"processed, {totals['failed']} dead-lettered",
            flush=True,
        )
    return results, bench.warnings


# -- summary --------------------------------------------------------------------------------


def scan_logs(processes: Processes) -> list[str]:
    """Print the tallies relay and workers log when they stop (at INFO); return what looked
    wrong in the logs: warnings, errors, tracebacks, unclean exits."""
    problems = []
    tally_lines = []
    for proc in processes.stopped:
        found: Counter[str] = Counter()
        for line in proc.log_path.read_text(errors="replace").splitlines():
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError:
                document = None
            if isinstance(document, dict):
                event, level = document.get("event"), document.get("level")
                if event in ("worker.stopped", "relay.stopped"):
                    tallies = {k: v for k, v in document.items() if k not in ("level", "timestamp")}
                    tally_lines.append(
                        f"  {proc.name}: {' '.join(f'{k}={v}' for k, v in tallies.items())}"
                    )
                if level in ("warning", "error", "critical"):
                    found[f"{level} {event}"] += 1
            elif any(w in line for w in ("Traceback", "Error", "ERROR", "WARNING", "Exception")):
                found[line.strip()[:200]] += 1
        code = proc.process.returncode
        if code not in (0, -signal.SIGTERM):
            found[f"exit code {code}"] += 1
        for what, count in found.most_common(8):
            problems.append(f"{proc.name} log: {count} x {what}")
    if tally_lines:
        print("process tallies:", *tally_lines, sep="\n")
    return problems


def median(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def print_medians(results: Sequence[ConfigResults], rounds: int) -> None:
    print(f"medians over {rounds} round(s):")
    for config in results:
        pooled = [x for r in config.latency for x in r.latencies]
        print(
            f"  {config.label:<10}follow->count p50 "
            f"{median([r.p50_ms for r in config.latency]):6.1f} ms  p99 "
            f"{median([r.p99_ms for r in config.latency]):6.1f} ms (all {len(pooled)} follows: "
            f"p99 {percentile(pooled, 99):.1f} ms)  mutation p99 "
            f"{median([r.mutation_p99_ms for r in config.latency]):5.1f} ms"
        )
        events = median([r.rate for r in config.events])
        noop = median([r.rate for r in config.noop])
        print(
            f"  {'':<10}API {median([r.api_rate for r in config.api]):7.1f} follows/s, "
            f"end to end {median([r.events_rate for r in config.api]):7.1f} events/s; "
            f"worker only {events:7.1f} events/s; no-op {noop:7.1f} msgs/s; "
            f"ratio {events / noop:.2f}"
        )


def print_verdict(results: Sequence[ConfigResults]) -> None:
    last = results[-1]
    events = median([r.rate for r in last.events])
    noop = median([r.rate for r in last.noop])
    ratio = events / noop
    p99 = median([r.p99_ms for r in last.latency])
    goals = [
        (f"follow->count p99 <= {GOAL_P99_MS:.0f} ms at moderate load", p99 <= GOAL_P99_MS),
        (
            f">= {GOAL_EVENTS_PER_S:,.0f} events/s with {last.label}",
            events >= GOAL_EVENTS_PER_S,
        ),
        (f"events/no-op ratio >= {GOAL_RATIO:.1f}", ratio >= GOAL_RATIO),
    ]
    print(
        f"goals ({last.label}): "
        + "; ".join(f"{text}: {'MET' if met else 'NOT MET'}" for text, met in goals)
        + f" (p99 {p99:.1f} ms, {events:.0f} events/s, ratio {ratio:.2f})"
    )
    print(f"events throughput ratio to no-op: {ratio:.2f}")
    print(f"follow-to-counts.followers p99: {p99:.1f} ms")


# -- main -----------------------------------------------------------------------------------


def exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    log_dir = Path(tempfile.mkdtemp(prefix="bzpeer-bench-events-"))
    print(f"process logs: {log_dir}", flush=True)
    namespaces = (args.namespace, f"{args.namespace}-noop")
    delete_namespace(args.redis_url, *namespaces)
    processes = Processes(log_dir)
    try:
        results, warnings = asyncio.run(run(args, processes, log_dir))
    finally:
        processes.stop_all()
        delete_namespace(args.redis_url, *namespaces)
    warnings += scan_logs(processes)
    print_medians(results, args.rounds)
    for warning in warnings:
        print(f"WARNING: {warning}")
    print_verdict(results)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the processes are already stopped
        print("interrupted", file=sys.stderr)
        sys.exit(130)
