"""Profile page benchmark: our GraphQL service against a hand-written endpoint, same answer.

What is measured: the client document ``service/documents/profile_page.graphql`` (the whole
seed page in one request, 10 works with abstracts, 10 topics, 10 close collaborators) and, before
it, ``integrator_nested.graphql`` (a researcher's works with their topics, authors, the authors'
trust and topics and the authorships' institutions; the document's default page of 50 works) and
``researcher_search.graphql`` (the search box: a sampled researcher's display name as typed,
the first 10 by relevance with the total, affiliation and works), each POSTed to

- ``graphql``: our real service, ``uvicorn service.app:create_app --factory --workers 2``
  (``BZPEER_ENV=production``, ``BZPEER_LOG_LEVEL=WARNING``, ``BZPEER_IN_PROCESS_WORKERS=false``
  as an API process of a deployment; both servers also get ``--log-level warning
  --no-access-log``): Starlette, our middleware, Strawberry's view, and for this document its
  compiled plan (``service/researchers/profile_plan.py``: one statement, the answer built
  without GraphQL execution) once the general path has admitted it;
- ``plain``: the baseline, ``bench/plain_profile_app.py`` served the same way: Starlette, four
  prepared statements on a pooled asyncpg connection, orjson (for the integrator document,
  ``bench/plain_integrator.py``: the plan's one statement, orjson; for the search,
  ``bench/plain_search.py``: the same matching and ranking in one statement). Both answers
  are checked equal (parsed, and byte for byte after re-encoding, so key order too) on sample
  researchers before anything is measured; the run aborts if they differ;
- ``postgraphile`` (with ``--peer postgraphile``): PostGraphile 5 over the same database, one
  Node 22 process, answering the same page in its own schema (``bench/postgraphile_peer.py``);
  checked to show the same values before anything is measured. The line before the last is
  ``profile_page graphql/postgraphile throughput ratio: X`` (goal X >= 1.0).

Load: ``wrk`` (``--clients`` keep-alive connections, default 16, closed loop) rotating over a
sample of researchers that have works; after a warm-up, ``--rounds`` rounds of ``--duration``
seconds, alternating which endpoint goes first. uvicorn's workers share one listening socket
and the first to wake accepts every connection queued at that moment, so wrk's burst of
connects can land 16+0 on one worker, which halves a CPU-bound server; a load balancer would
not do that, so a round whose split is more uneven than ``--max-skew`` (default 10+6) is
restarted at once (the split is printed per round). Printed per round and as medians, for each
document: req/s, p50 and p99 latency; then each document's goal and ratio line. The last line
is ``profile_page graphql/plain throughput ratio: X``; the issue's goal is X >= 0.5 with a
GraphQL p99 <= 50 ms at 16 clients. ``--documents`` measures some of them.

Everything shares one machine: PostgreSQL, the two server workers and wrk compete for the same
cores (printed with the CPU seconds each used per round), so the absolute figures are those of
this box; the ratio is the number to compare.

Data: ``bench.synthetic`` / ``bench.database`` build ``bzpeer_bench_<researchers>_<works>``
(default 100k researchers, 200k works, about 1M authorships), reused while its parameters match.

Run from the repository root::

    .venv/bin/python bench/profile_page.py                     # default size, 3 x 10 s
    .venv/bin/python bench/profile_page.py --researchers 2000 --works 4000 --duration 3 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make ``bench`` and ``service`` importable
    sys.path.insert(0, str(REPO_ROOT))

from bench import postgraphile_peer  # noqa: E402
from bench.database import BuildReport, ensure_database  # noqa: E402
from bench.proc import process_ticks  # noqa: E402
from bench.synthetic import GraphSize  # noqa: E402
from service.graphql.relay import to_global_id  # noqa: E402

DOCUMENTS_DIR = REPO_ROOT / "service" / "documents"
OPERATIONS = {
    "profile_page": "ProfilePage",
    "integrator_nested": "IntegratorNested",
    "researcher_search": "ResearcherSearch",
}
"""The client documents measured (``--documents``), by file name, with their operation."""
LUA_SCRIPT = Path(__file__).resolve().parent / "profile_page.lua"
GRAPHQL_APP = "service.app:create_app"
PLAIN_APP = "bench.plain_profile_app:create_app"
SERVER_WORKERS = 2
READY_TIMEOUT_S = 60.0
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
GOAL_CLIENTS = 16
GOAL_PEER_RATIO = 1.0
ENDPOINTS = ("graphql", "plain")
MAX_RESTARTS = 5
"""Restarts of a round for an even connection split before it is accepted as it is."""
RESTART_PAUSE_S = 1.0
"""Pause before a restart, so that the requests of the stopped run finish first."""
OTHER_CPU_WARNING = 0.10
"""Share of the machine's CPU time that processes outside the benchmark may use in a round
before the summary warns."""


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    database: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True, slots=True)
class RoundResult:
    endpoint: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_per_response: float
    cpu: dict[str, float]
    """CPU seconds used during the round by the client (wrk), the server's processes,
    PostgreSQL and anything else running on the machine (``other``)."""
    connections: tuple[int, ...]
    """wrk's connections held by each server worker (see ``--max-skew``)."""
    restarts: int = 0
    """Times the round was restarted because the connections were split too unevenly."""
    workers_replaced: int = 0
    """Server worker processes that exited during the round (uvicorn starts new ones)."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- arguments ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Profile page: GraphQL service vs a hand-written endpoint (same JSON)."
    )
    parser.add_argument("--researchers", type=int, default=100_000)
    parser.add_argument("--works", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42, help="data generator and Leiden seed")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the bench database")
    parser.add_argument(
        "--derive",
        choices=("sql", "service"),
        default="sql",
        help="how a new database gets its derived data: set-based SQL plus the service's "
        "Leiden and trust code (default, about 5 min at the default size) or the "
        "service's recompute_all (about 9 min at the default size, measured at commit "
        "a63dd70); used when the database is built, so add --rebuild to switch an "
        "existing one",
    )
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1",
        help="PostgreSQL server URL, without a database",
    )
    parser.add_argument(
        "--clients", type=int, default=GOAL_CLIENTS, help="concurrent keep-alive connections"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up per endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sample", type=int, default=1_000, help="researchers (with works) the load rotates over"
    )
    parser.add_argument(
        "--check",
        type=int,
        default=20,
        help="researchers whose answers must be equal before measuring",
    )
    parser.add_argument(
        "--peer",
        choices=("postgraphile",),
        help="also measure a peer over the same database: PostGraphile 5 (installed with npm "
        "into bench/postgraphile on first use)",
    )
    parser.add_argument(
        "--documents",
        default="integrator_nested,researcher_search,profile_page",
        help=f"comma-separated, of {', '.join(OPERATIONS)}; the profile page is measured "
        "last, the peer only on it",
    )
    parser.add_argument(
        "--cached",
        action="store_true",
        help="also measure our server with its response cache on (its change versions in "
        "--redis-url): every answer after the first of a researcher comes from the cache",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument(
        "--without-plans",
        action="store_true",
        help="send each document in a text its compiled plan does not match (a trailing "
        "newline): our server answers through GraphQL execution, as before the plans",
    )
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--max-skew",
        type=int,
        default=4,
        help="restart a round whose connections differ by more than this between the "
        "server's workers (default 4, i.e. 10+6 at 16 clients; -1 accepts any split)",
    )
    args = parser.parse_args(argv)
    documents = [d for d in args.documents.split(",") if d]
    unknown = set(documents) - set(OPERATIONS)
    if unknown or not documents:
        parser.error(f"--documents: unknown {', '.join(sorted(unknown)) or 'none given'}")
    args.documents = sorted(documents, key=lambda d: d == "profile_page")
    return args


# -- database and request bodies ------------------------------------------------------------


def print_build(report: BuildReport) -> None:
    how = "reused" if report.reused else "built"
    print(f"database {report.database}: {how} (derived data by the {report.derive} path)")
    seconds = report.seconds
    phases = [k for k in seconds if not k.startswith("derive.")]
    print(
        "  build times"
        + (" (when it was built)" if report.reused else "")
        + ": "
        + ", ".join(f"{k} {seconds[k]:.1f} s" for k in phases)
    )
    steps = {k.removeprefix("derive."): v for k, v in seconds.items() if k.startswith("derive.")}
    if steps:
        label = "recompute_all" if report.derive == "service" else "derive"
        print(
            f"  {label} {seconds.get('derive', 0.0):.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        )


async def pick_researchers(
    url: str, sample: int, check: int, seed: int
) -> tuple[list[int], list[int]]:
    """``(sample, check)``: researchers with works to load with, and the ones whose answers are
    compared: the extremes (most works, most close collaborators, no cluster, no affiliation,
    claimed) first, then random ones from the sample."""
    connection = await asyncpg.connect(url)
    try:
        ids = [
            r[0]
            for r in await connection.fetch(
                "SELECT id FROM researchers WHERE works_count > 0 ORDER BY id"
            )
        ]
        extremes = [
            r[0]
            for r in await connection.fetch(
                """(SELECT id FROM researchers ORDER BY works_count DESC, id LIMIT 2)
            UNION ALL (SELECT id FROM researchers
                       ORDER BY close_collaborators_count DESC, id LIMIT 2)
            UNION ALL (SELECT id FROM researchers WHERE cluster_id IS NULL AND works_count > 0
                       ORDER BY id LIMIT 1)
            UNION ALL (SELECT id FROM researchers WHERE affiliation_id IS NULL
                       AND works_count > 0 ORDER BY id LIMIT 1)
            UNION ALL (SELECT researcher_id FROM claims WHERE status = 'VERIFIED'
                       ORDER BY id LIMIT 1)"""
            )
        ]
    finally:
        await connection.close()
    if not ids:
        raise SystemExit("ABORT: no researcher has works")
    rng = random.Random(seed)
    chosen = rng.sample(ids, min(sample, len(ids)))
    checked = list(dict.fromkeys([*extremes, *chosen]))[:check]
    return chosen, checked


async def display_names(url: str, ids: Sequence[int]) -> dict[int, str]:
    """What a person types to find each of these researchers: the name as shown."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT id, display_name FROM researchers WHERE id = ANY($1)", list(ids)
        )
    finally:
        await connection.close()
    return {row["id"]: row["display_name"] for row in rows}


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    query: str
    names: dict[int, str]
    """Researchers' display names: the researcher search looks each sampled researcher up by
    name; the other documents take the id."""

    @classmethod
    def named(cls, name: str, names: dict[int, str], *, planned: bool = True) -> Document:
        """The client document as kept, or (not ``planned``) in a text no compiled plan
        matches, so that GraphQL execution answers it."""
        query = (DOCUMENTS_DIR / f"{name}.graphql").read_text()
        return cls(name, query if planned else query + "\n", names)

    def variables(self, researcher_id: int) -> dict[str, Any]:
        if self.name == "researcher_search":
            return {"q": self.names[researcher_id]}
        return {"id": to_global_id("Researcher", researcher_id)}

    def request_body(self, researcher_id: int) -> bytes:
        return orjson.dumps(
            {
                "query": self.query,
                "operationName": OPERATIONS[self.name],
                "variables": self.variables(researcher_id),
            }
        )

    def write_bodies(self, path: Path, ids: Sequence[int]) -> None:
        path.write_bytes(b"\n".join(self.request_body(i) for i in ids) + b"\n")


# -- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "BZPEER_ENV": "production",
            "BZPEER_LOG_LEVEL": "WARNING",
            "BZPEER_IN_PROCESS_WORKERS": "false",  # an API process; workers run apart
            "BZPEER_RESPONSE_CACHE_ENTRIES": "0",  # the goals are for uncached answers
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env | extra


def start_server(
    name: str, app: str, database_url: str, log_dir: Path, extra: dict[str, str]
) -> Server:
    """``uvicorn <app> --factory --workers 2`` on a free loopback port, in its own process
    group so that it can be stopped as a whole."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--workers",
        str(SERVER_WORKERS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = server_env(database_url, extra)
    return start_process(name, command, env, port, database_url, log_dir)


def start_peer(database_url: str, log_dir: Path) -> Server:
    """PostGraphile (``bench/postgraphile_peer.py``): one Node process."""
    port = free_port()
    env = dict(os.environ) | postgraphile_peer.environment(database_url, port)
    command = postgraphile_peer.command()
    return start_process("postgraphile", command, env, port, database_url, log_dir)


def start_process(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    database_url: str,
    log_dir: Path,
) -> Server:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, process, port, log_path, database_url.rsplit("/", 1)[1])


def stop_server(server: Server) -> None:
    """SIGTERM to the server's process group (its workers too, even if the supervisor is gone),
    SIGKILL after 15 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


def log_tail(server: Server, lines: int = 20) -> str:
    text = server.log_path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def wait_ready(server: Server) -> None:
    """Until ``/readyz`` answers 200 (our servers) or ``/graphql`` answers a query (the peer)."""
    if server.name == "postgraphile":
        probe = urllib.request.Request(
            f"{server.url}/graphql",
            data=b'{"query":"{ __typename }"}',
            headers={"Content-Type": "application/json"},
        )
    else:
        probe = urllib.request.Request(f"{server.url}/readyz")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"ABORT: {server.name} server exited:\n{log_tail(server)}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(probe, timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(
        f"ABORT: {server.name} server not ready in {READY_TIMEOUT_S:.0f} s:\n{log_tail(server)}"
    )


@contextlib.contextmanager
def running(
    name: str, app: str, database_url: str, log_dir: Path, extra: dict[str, str] | None = None
) -> Iterator[Server]:
    if name == "postgraphile":
        server = start_peer(database_url, log_dir)
    else:
        server = start_server(name, app, database_url, log_dir, extra or {})
    try:
        wait_ready(server)
        yield server
    finally:
        stop_server(server)


# -- equality check -------------------------------------------------------------------------


def post(url: str, body: bytes) -> Any:
    request = urllib.request.Request(
        f"{url}/graphql", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"ABORT: {url} answered {exc.code}: {exc.read()[:500]!r}") from exc


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if a != b or type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    return None


def check_same_answers(
    graphql: Server, plain: Server, document: Document, ids: Sequence[int]
) -> int:
    """Both endpoints must give the same document for every id; returns its mean size."""
    sizes = []
    for researcher_id in ids:
        body = document.request_body(researcher_id)
        expected, got = post(graphql.url, body), post(plain.url, body)
        if "errors" in expected or not all((expected.get("data") or {None: None}).values()):
            raise SystemExit(
                f"ABORT: GraphQL answered an error or nothing for researcher {researcher_id}: "
                f"{orjson.dumps(expected)[:500]!r}"
            )
        difference = first_difference(expected, got)
        if difference or orjson.dumps(expected) != orjson.dumps(got):
            raise SystemExit(
                f"ABORT: the plain endpoint differs from GraphQL for researcher "
                f"{researcher_id}: {difference}"
            )
        sizes.append(len(orjson.dumps(expected)))
    return round(statistics.mean(sizes))


def check_peer_answers(
    graphql: Server, peer: Server, document: Document, ids: Sequence[int]
) -> None:
    """The peer must show the same page (``postgraphile_peer.same_page``) for every id."""
    for researcher_id in ids:
        ours = post(graphql.url, document.request_body(researcher_id))
        theirs = post(peer.url, postgraphile_peer.request_body(researcher_id))
        difference = postgraphile_peer.same_page(ours, theirs)
        if difference:
            raise SystemExit(
                f"ABORT: {peer.name} differs from GraphQL for researcher {researcher_id}: "
                f"{difference}"
            )


# -- load -----------------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def serves_database(pid: int, database: str) -> bool:
    """Whether a PostgreSQL backend serves ``database`` (its process title names it)."""
    try:
        title = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return f" {database} ".encode() in title.replace(b"\0", b" ")


def machine_busy_ticks() -> int:
    """Non-idle CPU ticks of the whole machine, all cores (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return user + nice + system + irq + softirq + steal


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    client: float
    """CPU seconds of this process and its finished children (wrk, once waited for)."""
    server: dict[int, int]
    postgres: dict[int, int]
    busy: int

    @classmethod
    def take(cls, server: Server) -> CpuSnapshot:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            client=own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
            server=process_ticks(lambda _pid, _comm, pgrp: pgrp == server.process.pid),
            postgres=process_ticks(
                lambda pid, comm, _pgrp: (
                    comm.startswith("postgres") and serves_database(pid, server.database)
                )
            ),
            busy=machine_busy_ticks(),
        )

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds used in between by the client (wrk and this script), the server, the
        PostgreSQL backends of the bench database and everything else on the machine
        (``other``: PostgreSQL's own background processes, processes that are not part of the
        benchmark, kernel time charged to no process)."""

        def used(now: dict[int, int], then: dict[int, int]) -> float:
            return sum(t - then.get(pid, 0) for pid, t in now.items()) / CLOCK_TICKS

        spent = {
            "client": self.client - before.client,
            "server": used(self.server, before.server),
            "postgres": used(self.postgres, before.postgres),
        }
        busy = (self.busy - before.busy) / CLOCK_TICKS
        spent["other"] = max(0.0, busy - sum(spent.values()))
        return spent


def parse_wrk(output: str) -> dict[str, float]:
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
    raise SystemExit(f"ABORT: no result line in wrk's output:\n{output}")


def established_inodes(port: int) -> set[int]:
    """Socket inodes of the established TCP connections to ``port`` on 127.0.0.1."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(int(fields[9]))
    return inodes


def worker_pids(server: Server) -> set[int]:
    """The server's worker processes (not its supervisor or multiprocessing's resource
    tracker)."""
    found = set()
    for pid in process_ticks(lambda _pid, _comm, pgrp: pgrp == server.process.pid):
        with contextlib.suppress(OSError):
            if b"spawn_main" in (Path("/proc") / str(pid) / "cmdline").read_bytes():
                found.add(pid)
    return found


def connections_per_worker(server: Server) -> tuple[int, ...]:
    inodes = established_inodes(server.port)
    counts = []
    for pid in sorted(worker_pids(server)):
        try:
            links = [os.readlink(fd) for fd in (Path("/proc") / str(pid) / "fd").iterdir()]
        except OSError:
            continue
        counts.append(
            sum(1 for link in links if link.startswith("socket:[") and int(link[8:-1]) in inodes)
        )
    return tuple(counts)


def balanced(connections: Sequence[int], max_skew: int) -> bool:
    return max_skew < 0 or len(connections) < 2 or max(connections) - min(connections) <= max_skew


def run_wrk(
    server: Server,
    bodies: Path,
    args: argparse.Namespace,
    seconds: float,
    endpoint: str,
    max_skew: int = -1,
) -> RoundResult | None:
    """One wrk run; None when its connections landed on the workers more unevenly than
    ``max_skew`` allows (wrk is stopped as soon as that is seen)."""
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.clients}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"{server.url}/graphql",
        "--",
        str(bodies),
    ]
    before = CpuSnapshot.take(server)
    workers_before = worker_pids(server)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            time.sleep(min(1.0, seconds / 3))  # connections are open by then
            connections = connections_per_worker(server)
            if not balanced(connections, max_skew):
                process.kill()
                process.communicate()
                return None
            stdout, stderr = process.communicate()
        except BaseException:  # interrupted: do not leave wrk running
            process.kill()
            raise
    after = CpuSnapshot.take(server)
    replaced = len(workers_before - worker_pids(server))
    if replaced:
        print(f"WARNING: {replaced} {server.name} worker(s) exited:\n{log_tail(server)}")
    if process.returncode != 0:
        raise SystemExit(f"ABORT: wrk failed ({process.returncode}): {stderr}")
    result = parse_wrk(stdout)
    errors = sum(int(result[k]) for k in ("connect", "read", "write", "status", "timeout"))
    requests = int(result["requests"])
    return RoundResult(
        endpoint=endpoint,
        requests=requests,
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=errors,
        bytes_per_response=result["bytes"] / requests if requests else 0.0,
        cpu=after.since(before),
        connections=connections,
        workers_replaced=replaced,
    )


def format_result(label: str, result: RoundResult) -> str:
    cpu = " ".join(f"{k} {v:.1f}" for k, v in result.cpu.items())
    errors = f"  ERRORS {result.errors}" if result.errors else ""
    split = "+".join(str(n) for n in result.connections)
    if result.restarts:
        errors += f"  (restarted {result.restarts}x for an even split)"
    if result.workers_replaced:
        errors += f"  ({result.workers_replaced} WORKER(S) EXITED: disturbed)"
    return (
        f"{label:<9}{result.endpoint:<8}{result.rps:9.1f} req/s  p50 {result.p50_ms:7.2f} ms"
        f"  p99 {result.p99_ms:7.2f} ms  {result.bytes_per_response / 1024:5.1f} KiB/resp"
        f"  conns/worker {split:<5}  cpu s: {cpu}{errors}"
    )


def run_round(server: Server, bodies: Path, args: argparse.Namespace, endpoint: str) -> RoundResult:
    """A measured round, restarted (at most ``MAX_RESTARTS`` times, then accepted as it is)
    while wrk's connections are split over the workers more unevenly than ``--max-skew``."""
    for restarts in range(MAX_RESTARTS + 1):
        skew = args.max_skew if restarts < MAX_RESTARTS else -1
        result = run_wrk(server, bodies, args, args.duration, endpoint, max_skew=skew)
        if result is not None:
            return dataclasses.replace(result, restarts=restarts)
        time.sleep(RESTART_PAUSE_S)  # let both workers go idle, or the idler one takes all
    raise AssertionError("the last attempt accepts any split")


def measure(
    servers: dict[str, Server], bodies: dict[str, Path], args: argparse.Namespace
) -> dict[str, list[RoundResult]]:
    names = tuple(servers)
    for name in names:
        run_wrk(servers[name], bodies[name], args, args.warmup, name)
    results: dict[str, list[RoundResult]] = {name: [] for name in names}
    for number in range(1, args.rounds + 1):
        order = names if number % 2 else tuple(reversed(names))
        for name in order:
            result = run_round(servers[name], bodies[name], args, name)
            results[name].append(result)
            print(format_result(f"round {number}", result), flush=True)
    return results


# -- summary --------------------------------------------------------------------------------


def median_of(results: Sequence[RoundResult], attribute: str) -> float:
    return float(statistics.median(getattr(r, attribute) for r in results))


def print_medians(
    document: str, results: dict[str, list[RoundResult]], args: argparse.Namespace
) -> None:
    print(
        f"{document}: medians over {args.rounds} round(s) of {args.duration:g} s, "
        f"{args.clients} clients:"
    )
    for name in results:
        rounds = results[name]
        print(
            f"  {name:<8}{median_of(rounds, 'rps'):9.1f} req/s  "
            f"p50 {median_of(rounds, 'p50_ms'):7.2f} ms  "
            f"p99 {median_of(rounds, 'p99_ms'):7.2f} ms"
        )


def print_warnings(results: dict[str, list[RoundResult]], args: argparse.Namespace) -> None:
    every = [r for rounds in results.values() for r in rounds]
    capacity = (os.cpu_count() or 1) * args.duration
    disturbed = [r.cpu["other"] for r in every if r.cpu["other"] > OTHER_CPU_WARNING * capacity]
    if disturbed:
        print(
            f"WARNING: processes outside the benchmark used up to {max(disturbed):.1f} of "
            f"{capacity:g} CPU s in {len(disturbed)} round(s): those figures are disturbed"
        )
    errors = sum(r.errors for r in every)
    if errors:
        print(f"WARNING: {errors} failed requests (socket errors, timeouts or non-2xx)")
    sizes = [median_of(results[name], "bytes_per_response") for name in ENDPOINTS]
    if abs(sizes[0] - sizes[1]) > 0.05 * max(sizes):
        print(
            f"WARNING: mean response sizes differ under load: {sizes[0]:.0f} vs "
            f"{sizes[1]:.0f} bytes"
        )


def print_verdict(
    document: str, results: dict[str, list[RoundResult]], args: argparse.Namespace
) -> None:
    """The goal, whether it is met, and last of all the ratio line."""
    ratio = ratio_of(results, "plain")
    p99 = median_of(results["graphql"], "p99_ms")
    verdict = "MET" if ratio >= GOAL_RATIO and p99 <= GOAL_P99_MS else "NOT MET"
    if args.clients != GOAL_CLIENTS:
        verdict += f" (measured at {args.clients} clients, the goal is stated at {GOAL_CLIENTS})"
    print(
        f"{document} goal: graphql/plain throughput >= {GOAL_RATIO:.2f} with graphql p99 <= "
        f"{GOAL_P99_MS:.0f} ms at {GOAL_CLIENTS} clients: {verdict} "
        f"(ratio {ratio:.2f}, graphql p99 {p99:.1f} ms)"
    )
    if "cached" in results:
        print(
            f"{document} graphql with its response cache: "
            f"{median_of(results['cached'], 'rps'):.1f} req/s, p99 "
            f"{median_of(results['cached'], 'p99_ms'):.1f} ms, "
            f"{median_of(results['cached'], 'rps') / median_of(results['plain'], 'rps'):.2f} "
            "times plain (not a goal: the goals are for uncached answers)"
        )
    if "postgraphile" in results:
        peer_ratio = ratio_of(results, "postgraphile")
        peer_p99 = median_of(results["postgraphile"], "p99_ms")
        print(
            f"{document} goal: graphql/postgraphile throughput >= {GOAL_PEER_RATIO:.2f}: "
            f"{'MET' if peer_ratio >= GOAL_PEER_RATIO else 'NOT MET'} (postgraphile "
            f"{median_of(results['postgraphile'], 'rps'):.1f} req/s, p99 {peer_p99:.1f} ms)"
        )
        print(f"{document} graphql/postgraphile throughput ratio: {peer_ratio:.2f}")
    print(f"{document} graphql/plain throughput ratio: {ratio:.2f}")


def ratio_of(results: dict[str, list[RoundResult]], baseline: str) -> float:
    return median_of(results["graphql"], "rps") / median_of(results[baseline], "rps")


# -- main -----------------------------------------------------------------------------------


def exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("ABORT: wrk is not installed (Debian: apt-get install -y wrk)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    check_tools()
    size = GraphSize(args.researchers, args.works, args.seed)
    report = asyncio.run(
        ensure_database(args.server, size, rebuild=args.rebuild, derive=args.derive)
    )
    print_build(report)
    peer_name = args.peer if "profile_page" in args.documents else None
    if peer_name:
        postgraphile_peer.ensure_installed()
        postgraphile_peer.prepare_database(report.url)
    sample, checked = asyncio.run(pick_researchers(report.url, args.sample, args.check, args.seed))
    names = asyncio.run(display_names(report.url, [*sample, *checked]))
    print(
        f"machine: {os.cpu_count()} cores ({(os.cpu_count() or 1) * args.duration:g} CPU s "
        f"per round) shared by PostgreSQL, the loaded server's {SERVER_WORKERS} workers (the "
        f"other server idles) and wrk ({args.wrk_threads} thread)"
    )
    summaries: list[tuple[str, dict[str, list[RoundResult]]]] = []
    with contextlib.ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bzpeer-bench-")))
        graphql = stack.enter_context(running("graphql", GRAPHQL_APP, report.url, work_dir))
        plain = stack.enter_context(running("plain", PLAIN_APP, report.url, work_dir))
        cached = None
        if args.cached:
            cache_env = {
                "BZPEER_RESPONSE_CACHE_ENTRIES": "100000",
                "REDIS_URL": args.redis_url,
                "BZPEER_BROKER_NAMESPACE": f"bzpeer-bench-{os.getpid()}",
            }
            cached = stack.enter_context(
                running("cached", GRAPHQL_APP, report.url, work_dir, cache_env)
            )
        peer = None
        if peer_name:
            peer = stack.enter_context(running(peer_name, "", report.url, work_dir))
        for name in args.documents:
            document = Document.named(name, names, planned=not args.without_plans)
            servers = {"graphql": graphql, "plain": plain}
            bodies = {endpoint: work_dir / f"{name}.{endpoint}.jsonl" for endpoint in ENDPOINTS}
            for path in bodies.values():
                document.write_bodies(path, sample)
            size_bytes = check_same_answers(graphql, plain, document, checked)
            if cached is not None:
                check_same_answers(cached, plain, document, checked)
                servers["cached"] = cached
                bodies["cached"] = work_dir / f"{name}.cached.jsonl"
                document.write_bodies(bodies["cached"], sample)
            print(
                f"{name}: identical JSON from both endpoints for {len(checked)} researchers "
                f"(mean {size_bytes / 1024:.1f} KiB); load rotates over {len(sample)}"
            )
            if peer is not None and name == "profile_page":
                check_peer_answers(graphql, peer, document, checked)
                print(f"{name}: {peer.name} shows the same pages for the same researchers")
                servers[peer.name] = peer
                bodies[peer.name] = work_dir / f"{name}.{peer.name}.jsonl"
                bodies[peer.name].write_bytes(
                    b"\n".join(postgraphile_peer.request_body(i) for i in sample) + b"\n"
                )
            results = measure(servers, bodies, args)
            check_same_answers(graphql, plain, document, checked[:5])
            summaries.append((name, results))
    for name, results in summaries:
        print_medians(name, results, args)
        print_warnings(results, args)
    for name, results in summaries:
        print_verdict(name, results, args)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already stopped by the context managers
        print("interrupted", file=sys.stderr)
        sys.exit(130)
