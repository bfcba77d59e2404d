"""Idle cost: CPU that our processes use doing nothing, against what the same frameworks use
idle without us, and the delivery latency that must not pay for it.

What runs, each measured over ``--seconds`` (default 10) after ``--settle`` (3 s) of quiet:

- ``serve``: the embedded default, ``bzpeer serve`` on a fresh SQLite data folder (in-process
  relay and worker). Baseline: a bare Starlette app under uvicorn (``bench.idle`` itself with
  ``--bare-app``), what any ASGI service costs idle.
- ``worker``: ``bzpeer worker`` on PostgreSQL (``--server``, a scratch database) and Redis
  (``--redis-url``, its own namespace). Baseline: a bare Dramatiq worker with one no-op actor on
  the same Redis, Dramatiq's defaults (``bench.idle --bare-worker``).
- ``relay``: ``bzpeer relay`` on the same database and Redis (no baseline: it is ours alone).

For each: CPU as % of one core (utime + stime of the process over wall time, from ``/proc``) and
its thread count. Then the embedded default's delivery latency: ``--follows`` follows (default
20) one after another through the API, each timed from the mutation's send to the moment the
researcher's follower count (read through the API every 2 ms) shows it; median and max.

Printed last: ``idle serve %core: X``, ``idle worker %core: Y`` and ``delivery p50 ms: Z``.
Goals (issue 15): serve under 2% and worker under 5% of a core, delivery latency unchanged.

Run: ``uv run python bench/idle.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support import environment, reserved_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--follows", type=int, default=20)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--bare-app", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the process, all its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_cost(pid: int, settle: float, seconds: float) -> tuple[float, int]:
    """(% of one core, threads) of a quiet process."""
    time.sleep(settle)
    started, cpu = time.monotonic(), process_cpu_seconds(pid)
    time.sleep(seconds)
    used = process_cpu_seconds(pid) - cpu
    threads = len(os.listdir(f"/proc/{pid}/task"))
    return 100 * used / (time.monotonic() - started), threads


@contextmanager
def running(command: Sequence[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def signed_in_accounts(database: Path, count: int) -> list[str]:
    """Confirmed accounts with a session each, written as sign-in writes them; their tokens."""
    tokens = []
    with sqlite3.connect(database) as db:
        for _ in range(count):
            address = f"idle-{uuid.uuid4().hex[:10]}@example.org"
            token = uuid.uuid4().hex
            db.execute(
                "INSERT INTO accounts (email, display_name, email_confirmed_at, created_at, "
                "updated_at) VALUES (?, 'Idle', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)",
                (address,),
            )
            db.execute(
                "INSERT INTO account_sessions (account_id, token_hash, created_at, expires_at) "
                "SELECT id, ?, CURRENT_TIMESTAMP, '2999-01-01 00:00:00' FROM accounts "
                "WHERE email = ?",
                (hashlib.sha256(token.encode()).hexdigest(), address),
            )
            tokens.append(token)
    return tokens


FOLLOW = "mutation($id: ID!) { follow(input: {researcherId: $id}) { researcher { id } } }"
COUNT = "query($id: ID!) { researcher(id: $id) { counts { followers } } }"
FIRST = '{ researchers(first: 1, search: "Kaiyue Lu") { edges { node { id } } } }'


def delivery_latencies(base: str, tokens: Sequence[str]) -> list[float]:
    """Per follow: ms from sending it to the follower count showing it."""
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        record = client.post("/graphql", json={"query": FIRST}).json()
        researcher = record["data"]["researchers"]["edges"][0]["node"]["id"]

        def followers() -> int:
            body = client.post("/graphql", json={"query": COUNT, "variables": {"id": researcher}})
            return int(body.json()["data"]["researcher"]["counts"]["followers"])

        count = followers()
        for token in tokens:
            started = time.perf_counter()
            client.post(
                "/graphql",
                json={"query": FOLLOW, "variables": {"id": researcher}},
                headers={"authorization": f"Bearer {token}"},
            )
            while followers() <= count:
                time.sleep(0.002)
            latencies.append(1000 * (time.perf_counter() - started))
            count += 1
    return latencies


def bare_app(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/healthz", hello)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def bare_worker(redis_url: str) -> None:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=redis_url, namespace=f"bench-idle-{os.getpid()}")  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)

    @dramatiq.actor(broker=broker)
    def nothing() -> None:
        """The no-op actor."""

    worker = dramatiq.Worker(broker, worker_threads=8)
    worker.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        worker.stop()


async def scratch_database(server: str) -> str:
    import asyncpg

    name = f"bzpeer_bench_idle_{os.getpid()}"
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


async def drop_database(server: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_app:
        bare_app(args.port)
        return 0
    if args.bare_worker:
        bare_worker(args.redis_url)
        return 0
    python = sys.executable
    figures: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory() as folder, reserved_port() as port:
        env = environment(BZPEER_DATA_DIR=str(Path(folder) / "data"))
        base = f"http://127.0.0.1:{port}"
        with running([python, "-m", "service.cli", "serve", "--port", str(port)], env) as served:
            wait_for_http(f"{base}/healthz")
            figures["serve"] = idle_cost(served.pid, args.settle, args.seconds)
            tokens = signed_in_accounts(Path(folder) / "data" / "bzpeer.sqlite3", args.follows)
            latencies = delivery_latencies(base, tokens)
    with reserved_port() as port:
        command = [python, __file__, "--bare-app", "--port", str(port)]
        with running(command, os.environ.copy()) as bare:
            wait_for_http(f"http://127.0.0.1:{port}/healthz")
            figures["bare uvicorn"] = idle_cost(bare.pid, args.settle, args.seconds)

    database = asyncio.run(scratch_database(args.server))
    try:
        env = environment(
            DATABASE_URL=f"{args.server}/{database}",
            REDIS_URL=args.redis_url,
            BZPEER_BROKER_NAMESPACE=f"bench-idle-{os.getpid()}",
            BZPEER_ENV="production",
        )
        subprocess.run(
            [python, "-m", "service.cli", "migrate"],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        with running([python, "-m", "service.cli", "worker"], env) as worker:
            figures["worker"] = idle_cost(worker.pid, args.settle + 2, args.seconds)
        with running([python, "-m", "service.cli", "relay"], env) as relay:
            figures["relay"] = idle_cost(relay.pid, args.settle + 2, args.seconds)
        plain = [python, __file__, "--bare-worker", "--redis-url", args.redis_url]
        with running(plain, os.environ.copy()) as dramatiq_only:
            figures["bare dramatiq worker"] = idle_cost(
                dramatiq_only.pid, args.settle, args.seconds
            )
    finally:
        asyncio.run(drop_database(args.server, database))

    for name, (percent, threads) in figures.items():
        print(f"{name:>22}: {percent:5.2f}% of a core idle, {threads} threads")
    p50 = statistics.median(latencies)
    print(
        f"delivery (embedded, follow -> follower count through the API): p50 {p50:.0f} ms, "
        f"max {max(latencies):.0f} ms over {len(latencies)} follows"
    )
    serve, bare_uvicorn = figures["serve"][0], figures["bare uvicorn"][0]
    ours, plain_cost = figures["worker"][0], figures["bare dramatiq worker"][0]
    print(f"serve / bare uvicorn: {serve / max(bare_uvicorn, 0.01):.1f}")
    print(f"worker / bare dramatiq worker: {ours / max(plain_cost, 0.01):.1f}")
    print(
        f"goals: serve < 2% {'met' if serve < 2 else 'NOT MET'}, "
        f"worker < 5% {'met' if ours < 5 else 'NOT MET'}"
    )
    print(f"idle serve %core: {serve:.2f}")
    print(f"idle worker %core: {ours:.2f}")
    print(f"delivery p50 ms: {p50:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
