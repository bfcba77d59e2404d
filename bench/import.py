"""OpenAlex import benchmark: ``bzpeer import openalex`` into PostgreSQL against two floors, the
parse of the same files and a plain ``psql \\copy`` of the same rows, in one run.

Data: a synthetic snapshot made from the real KFUPM records (``bench.openalex_snapshot``:
``--works`` works, default 100,000, ``--quick`` 10,000; each a real record with new work and
author ids, about 17 KB, the real authors-per-work distribution and a skewed pool of
``works * 5,394 / 3,684`` authors; an authors file for the most prolific ones; the snapshot's
layout with manifests, ``max(8, works / 12,500)`` parts), generated once and cached under
``~/.cache/bzpeer/bench-import/``, plus the real file ``tests/data/openalex/
openalex-kfupm-idb-works.jsonl.gz`` (3,684 works). Every run imports into a fresh database
(``--database``, default ``bzpeer_bench_import``, migrated by ``bzpeer migrate``; dropped at the
end unless ``--keep``).

What is measured, with ``--jobs`` processes (default: every core):

- ``parse floor``: gunzip + ``orjson.loads`` of every record of the same files and nothing else,
  in ``--jobs`` processes started beforehand (files shared out largest first, as the import
  does): works/s.
- ``import``: ``bzpeer import openalex <snapshot> <kfupm file> --jobs J`` as a subprocess (run
  as ``bench/timed_import.py``: the same ``service.cli.main``, with the importer's
  ``derive_if_pending`` wrapped to record when the bulk derive started and ended), timed from
  its launch. ``import works/s`` is the works stored divided by the time from the launch to the
  derive's start: startup, the authors file, the works files, what the import does after its
  last batch (printed apart: the files' ``started_at`` / ``finished_at`` in ``imported_files``).
  The derive (``service.recompute``, the code of ``bzpeer recompute --all``) is printed on its
  own; when the import did not derive (no process passed ``--bulk-threshold`` new works, so it
  emitted an event per work for the workers instead), the bench times ``bzpeer recompute
  --all`` on the same database and prints that as the derive. CPU seconds of the import's
  processes, PostgreSQL (the database's backends and the server's background processes) and
  everything else on the machine (``other``: other people's work too) are sampled from
  ``/proc`` every 0.25 s for each phase; a phase where ``other`` passes 10% of the machine is
  flagged.
- ``copy floor``: the rows the import wrote (``works``, ``authorships``,
  ``authorship_institutions``, ``work_topics``, ``researchers`` and the small ``institutions``,
  ``venues``, ``topics``, with the columns the import writes), dumped from the imported database
  to tab-separated files (not timed) in ``--jobs`` shards, then loaded by ``--jobs`` concurrent
  ``psql \\copy`` sessions into plain tables of the same columns (no keys, no indexes) in a
  scratch schema of the same database (timed): rows/s and works/s.

Printed: each figure, the time the full snapshot (250M works) would take at the measured rate
on this machine, the goal, and last the two lines::

    import works/s: X
    import / parse floor: Y

Goals (issue): with every core used, X >= 5,000 works/s and Y >= 0.5 on 2 cores.

Run: ``uv run python bench/import.py`` (``--quick``: 10k works; ``--keep`` keeps the database;
the import's stderr is kept as ``last-import.log`` in the cache folder).

Last measured (2 cores, PostgreSQL 15 at Debian's defaults, quiet machine), default size
(100k synthetic + 3,684 real works, 507,545 authorships, 151,536 researchers), ``--jobs 2``,
three runs on 2026-11-30: import 2,058 / 2,206 / 2,393 works/s against parse floors of 16,313
/ 17,768 / 17,495 (ratio 0.13 / 0.12 / 0.14); bulk derive 73.9 / 67.1 / 64.8 s. The machine ran
slower that day (the week before, the same derive code took 54.7 s and the parse floor was
19,600). Goals not met: 5,000 works/s, ratio 0.5, derive 60 s. That day's changes: the join
tables without foreign keys (the import's PostgreSQL CPU 35.5 -> about 22 s), abstracts placed
by position, ORCIDs checked once, 1 MB reads, COPY rows by ``itemgetter``. Where the time
goes (py-spy, one process): gunzip + ``orjson`` about 0.1 ms a work (the parse floor),
``map_work`` about 0.13 ms, the writes' Python about 0.14 ms; PostgreSQL about 0.2 ms more,
mostly index upkeep (the copy floor loads the same rows into tables without indexes in 2.4 CPU
s, the import's PostgreSQL used about 22). On 2 cores 5,000 works/s leaves 0.4 ms of CPU a
work for all of it: the mapping would have to leave Python (or PostgreSQL map raw JSON) to
get there. Before this session's changes (one INSERT per row,
IN lists of 2,000 keys, affiliations filled in pages, derive in batches of ids with foreign
keys checked per edge): 1,525 works/s and a derive of 249 s.

Since then the import's processes freeze what they hold after startup out of the garbage
collector's view (``service.heap``; ``--without-freeze`` turns it off): its full collections
walked every object of the schema, mappers and modules, again and again. Same hour, two runs
each (2026-11-30, a faster day: parse floors 18,500-19,800): with the freeze 3,060 / 3,314
works/s (ratio 0.17 / 0.17, the import's CPU 31.5 / 30.2 s), without 2,796 / 2,811 (0.14 /
0.14, 36.3 / 37.3 s); bulk derive 55.1-57.6 s either way. Goals still not met (5,000 works/s,
0.5); the derive's 60 s is met on that day and was not on the slower one (67 s, same code).

2026-12-01 (after the search indexes of migration 0014; a slow, uneven day: parse floors
11,657-14,795): each batch now commits the authors, institutions, venues and topics it names in
a short transaction of its own before its works. Sampling ``pg_stat_activity`` had shown the
import's backends waiting on each other's uncommitted new authors (``Lock:transactionid``) in a
quarter of the samples; none after. Four runs: 1,639 / 1,208 / 1,500 / 1,312 works/s (median
1,406; ratio to the parse floor 0.11 / 0.10 / 0.11 / 0.11), against 1,088 (ratio 0.08) for the
code before, run in the same hour; the bulk derive 82-111 s (goal 60: not met on this day).
Where the time goes now: PostgreSQL's CPU (58-81 s) above the import's own (42-65 s); of the
database's, about 0.22 ms a work is the works' ``tsvector`` and its GIN entry (measured apart:
``to_tsvector`` of a title and 1.7 KB abstract about 0.18 ms), and every rewrite of the 151k
researcher rows (affiliations after the import; clusters, counters and trust in the derive)
costs about 7 s, all indexes included. ``--jobs 4`` on 2 cores was slower (1,091) and, before
the authors were inserted in key order, deadlocked.

Later on 2026-12-01 (a fast period: parse floors 18,772-19,149): the bulk import's batches leave
the works' search vectors to the derive (migration 0015, ``service.search.pending``), which
builds them in chunks on its own connections while the recompute keeps the other core busy.
Three runs: 3,257 / 3,216 / 3,138 works/s (ratio 0.17 each; the import's PostgreSQL CPU 20-22 s
against 41-42 s), against 2,350 / 2,377 (0.13) for the code before in the same hour; the bulk
derive 56.4 / 57.1 / 57.9 s (its PostgreSQL CPU 59-61 s against 37-39 s: the vectors, built on
the core the recompute left idle) against 53.6 s; end to end 88-91 s against 97-103 s. Goals
still not met (5,000 works/s, 0.5); the derive's 60 s is met on this day. The import's own
Python is now the larger share (about 0.31 ms a work of 32 CPU s), then affiliations filled
after the last batch (5.6-5.9 s of the 32-33 s).

On 2026-12-01, afternoon (a slow period: parse floors 13,740-15,803), a bulk import's
affiliations are written by its derive in the rewrite of every researcher it makes anyway
(``recount_everything``), instead of a rewrite of their own after the last batch. Two pairs,
new then old in the same hour: 2,497 / 2,224 works/s against 2,266 / 2,012 (ratio 0.16 / 0.15
against 0.15 / 0.15); after the last batch 0.7 / 0.6 s against 8.3 / 8.6 s; the bulk derive
87.4 / 95.4 s against 89.7 / 96.1 s (no slower); end to end 129.0 / 142.1 s against 135.6 /
147.7 s.

2026-12-01 evening, a new and slower machine (parse floors 8,907-10,583): the import's sessions
plan each lookup for its own keys (a generic plan kept from the empty table had made a
one-process import four to five times slower), new authors in one ``INSERT ... unnest``, no
per-batch affiliations in bulk, ISA-L gunzip. ``--jobs 2``: 1,465 / 1,317 works/s against
1,313 / 1,337 / 1,270 before (ratio 0.14-0.15); import CPU 71-79 s against 76-87 s, PostgreSQL
53-59 s either way; bulk derive 144-167 s (the machine: the same code took 55-80 s on others).

2026-12-02, night (parse floors 12,900-18,700): the derive's edges without the index on
``coauthor_edges.coauthor_id`` (migration 0018; the ``COPY`` of 3.7M edges 9.9 s against 19.9),
``researcher_topics`` inserted in key order (5.1 s against 11.7), trust factors stored without
``dataclasses.asdict`` (the trust step's CPU 10.4 s against 14.6). Bulk derive 58.8 / 65.8 s
against 84.9 / 91.9 / 84.6 s before (its PostgreSQL CPU 72-81 s against 97-105 s); import
2,535 / 3,042 works/s (ratio 0.18 / 0.19), unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make ``bench`` and ``service`` importable
    sys.path.insert(0, str(REPO_ROOT))

from bench.openalex_snapshot import (  # noqa: E402
    KFUPM_WORKS,
    Snapshot,
    default_cache,
    ensure_snapshot,
    parse_file,
    records_of,
    warm,
)
from bench.proc import processes_cpu  # noqa: E402
from bench.timed_import import TIMES_ENV  # noqa: E402

TIMED_IMPORT = REPO_ROOT / "bench" / "timed_import.py"
LAST_LOG = "last-import.log"
"""The import's stderr, kept in the cache folder after each run."""
FULL_SNAPSHOT_WORKS = 250_000_000
GOAL_WORKS_PER_S = 5_000.0
GOAL_RATIO = 0.5
GOAL_CORES = 2
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_DATABASE = "bzpeer_bench_import"
SCRATCH_SCHEMA = "bench_copy_floor"
SAMPLE_INTERVAL_S = 0.25
OTHER_CPU_WARNING = 0.10
"""Share of the machine's CPU time that processes outside the benchmark may use in a phase
before the summary warns."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IMPORT_SKIPPED_STATUS = 3
"""``bzpeer import`` exits with this when its report lists a skipped item (the KFUPM file has
some: authorships without an author id); the import is complete otherwise."""

COPY_TABLES = (
    "researchers",
    "institutions",
    "venues",
    "topics",
    "works",
    "authorships",
    "authorship_institutions",
    "work_topics",
)
"""What the import writes for works (and their authors), in its order."""
NOT_WRITTEN_BY_IMPORT = {
    "researchers": {
        "description",
        "merged_into_id",
        "open_to_collaborate",
        "cluster_id",
        "works_count",
        "followers_count",
        "topics_count",
        "close_collaborators_count",
    },
}
"""Columns left to their defaults by the import (derived data, profile fields): not copied."""
SHARD_KEYS = ("id", "work_id", "authorship_id", "institution_id")


# -- arguments ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--works", type=int, help="synthetic works (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="10,000 works")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes of the import and of both floors (default: every core)",
    )
    parser.add_argument(
        "--bulk-threshold",
        type=int,
        help="passed to the import (default: the importer's own, 5000)",
    )
    parser.add_argument("--seed", type=int, default=42, help="snapshot generator seed")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="snapshot cache")
    parser.add_argument("--regenerate", action="store_true", help="generate the snapshot again")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL, without a database")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--without-freeze",
        action="store_true",
        help="import with BZPEER_FREEZE_STARTUP_OBJECTS=false, to measure what the freeze gives",
    )
    args = parser.parse_args(argv)
    args.works = args.works or (10_000 if args.quick else 100_000)
    args.jobs = max(1, args.jobs)
    return args


# -- CPU accounting -------------------------------------------------------------------------


def machine_busy_ticks() -> int:
    """Non-idle CPU ticks of the whole machine, all cores (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return user + nice + system + irq + softirq + steal


def process_title(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def postgres_role(database: str) -> Callable[[int, str, int], str | None]:
    """``postgres`` for PostgreSQL's processes serving ``database``, the postmaster and its
    background processes (WAL writer, checkpointer...); None for backends of other databases."""

    def role(pid: int, comm: str, _pgrp: int) -> str | None:
        if not comm.startswith("postgres"):
            return None
        title = process_title(pid)
        if f" {database} " in f"{title} ":
            return "postgres"
        if "(" in title or "[local]" in title:  # a client's backend, of another database
            return None
        return "postgres"

    return role


def group_role(name: str, groups: Sequence[int]) -> Callable[[int, str, int], str | None]:
    """``name`` for the processes of these process groups."""

    def role(_pid: int, _comm: str, pgrp: int) -> str | None:
        return name if pgrp in groups else None

    return role


@dataclass
class Sample:
    at: float
    """``time.time()``."""
    used: dict[str, float]
    """CPU seconds used since the sampler started, by role (``busy``: the whole machine)."""


@dataclass
class CpuSampler:
    """CPU seconds of the processes of each role, read from ``/proc`` every
    ``SAMPLE_INTERVAL_S`` in a thread: a process that exits keeps what it had at the last sample
    before (up to 0.25 s of it is lost)."""

    roles: Sequence[Callable[[int, str, int], str | None]]
    samples: list[Sample] = field(default_factory=list)
    _baseline: dict[int, int] = field(default_factory=dict)
    _last: dict[int, tuple[str, int]] = field(default_factory=dict)
    _busy: int = 0
    _own: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> CpuSampler:
        for process in processes_cpu():
            self._baseline[process.pid] = process.ticks
        self._busy = machine_busy_ticks()
        self._own = own_cpu_s()
        self.take()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.take()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self.take()

    def take(self) -> None:
        for process in processes_cpu():
            for role_of in self.roles:
                role = role_of(process.pid, process.comm, process.pgrp)
                if role is not None:
                    self._last[process.pid] = (role, process.ticks)
                    break
        used: dict[str, float] = {}
        for pid, (role, ticks) in self._last.items():
            used[role] = used.get(role, 0.0) + (ticks - self._baseline.get(pid, 0)) / CLOCK_TICKS
        used["bench"] = own_cpu_s() - self._own
        used["busy"] = (machine_busy_ticks() - self._busy) / CLOCK_TICKS
        self.samples.append(Sample(time.time(), used))

    def at(self, moment: float) -> Sample:
        """The last sample taken at or before ``moment`` (the first one if none)."""
        chosen = self.samples[0]
        for sample in self.samples:
            if sample.at <= moment:
                chosen = sample
        return chosen

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds by role between two moments (``other``: the rest of the machine)."""
        first, last = self.at(start), self.at(end)
        roles = {r for r in last.used if r != "busy"}
        spent = {r: last.used.get(r, 0.0) - first.used.get(r, 0.0) for r in sorted(roles)}
        busy = last.used["busy"] - first.used["busy"]
        spent["other"] = max(0.0, busy - sum(spent.values()))
        spent["seconds"] = last.at - first.at
        return spent


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def format_cpu(cpu: dict[str, float]) -> str:
    return "cpu s: " + ", ".join(
        f"{role} {value:.1f}" for role, value in cpu.items() if role != "seconds"
    )


def disturbed(cpu: dict[str, float]) -> bool:
    capacity = (os.cpu_count() or 1) * cpu.get("seconds", 0.0)
    return capacity > 0 and cpu.get("other", 0.0) > OTHER_CPU_WARNING * capacity


# -- the database ---------------------------------------------------------------------------


def database_url(args: argparse.Namespace) -> str:
    return f"{args.server.rstrip('/')}/{args.database}"


async def recreate_database(args: argparse.Namespace) -> None:
    connection = await asyncpg.connect(f"{args.server.rstrip('/')}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{args.database}"')
    finally:
        await connection.close()


async def drop_database(args: argparse.Namespace) -> None:
    connection = await asyncpg.connect(f"{args.server.rstrip('/')}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    finally:
        await connection.close()


def service_env(url: str, data_dir: Path, *, freeze: bool = True) -> dict[str, str]:
    """Our commands' environment: inherited, minus the caller's ``BZPEER_*`` settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BZPEER_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "DATABASE_URL": url,
            "BZPEER_LOG_LEVEL": "WARNING",
            "BZPEER_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO_ROOT),
            "BZPEER_FREEZE_STARTUP_OBJECTS": "true" if freeze else "false",
        }
    )
    return env


def bzpeer(*arguments: str) -> list[str]:
    script = Path(sys.executable).parent / "bzpeer"
    if script.exists():
        return [str(script), *arguments]
    return [sys.executable, "-m", "service.cli", *arguments]


def run_cli(url: str, work_dir: Path, *arguments: str) -> float:
    started = time.monotonic()
    result = subprocess.run(
        bzpeer(*arguments),
        cwd=REPO_ROOT,
        env=service_env(url, work_dir / "data"),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"ABORT: bzpeer {' '.join(arguments)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return time.monotonic() - started


# -- the parse floor ------------------------------------------------------------------------


@dataclass
class ParseFloor:
    seconds: float
    records: int
    works: int
    cpu: dict[str, float]

    @property
    def works_per_s(self) -> float:
        return self.works / self.seconds


def parse_floor(files: Sequence[Path], works_files: set[Path], jobs: int) -> ParseFloor:
    """Every file gunzipped and parsed by ``jobs`` processes (started before the clock),
    largest first."""
    ordered = sorted(files, key=lambda p: -p.stat().st_size)
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs) as pool:
        workers = set(pool.map(warm, range(jobs), chunksize=1))

        def role(pid: int, _comm: str, _pgrp: int) -> str | None:
            return "parse" if pid in workers else None

        with CpuSampler([role]) as sampler:
            started = time.time()
            counts = pool.map(parse_file, ordered, chunksize=1)
            ended = time.time()
    works = sum(n for path, n in zip(ordered, counts, strict=True) if path in works_files)
    return ParseFloor(ended - started, sum(counts), works, sampler.between(started, ended))


# -- the import -----------------------------------------------------------------------------


@dataclass
class FileRow:
    path: str
    entity: str
    lines: int
    started: float
    finished: float | None


@dataclass
class ImportRun:
    launched: float
    ended: float
    status: int
    summary: str
    files: list[FileRow]
    counts: dict[str, int]
    pending_events: int
    derive: dict[str, Any]
    """What ``bench/timed_import.py`` recorded: ``started``, ``ended`` (``time.time()``) and
    ``outcome`` (``derived``, ``nothing to derive``, ``failed``, or ``untimed: ...``)."""
    command_cpu_s: float
    """CPU seconds of the import command and every process it waited for (exact)."""
    report_lines: int
    report_skipped: int
    cpu_import: dict[str, float] = field(default_factory=dict)
    cpu_derive: dict[str, float] = field(default_factory=dict)
    failure: str | None = None
    """The end of the log of an import that failed after its last batch (in the derive)."""
    recompute_s: float | None = None
    """``bzpeer recompute --all`` timed by the bench when the import did not derive."""

    @property
    def last_batch(self) -> float:
        return max(f.finished or f.started for f in self.files)

    @property
    def timed(self) -> bool:
        return "started" in self.derive

    @property
    def derived(self) -> bool:
        return self.derive.get("outcome") == "derived"

    @property
    def import_end(self) -> float:
        """Where the import's own work ends: the derive's start (else the last batch)."""
        return float(self.derive["started"]) if self.timed else self.last_batch

    @property
    def derive_end(self) -> float:
        return float(self.derive["ended"]) if self.timed else self.ended

    @property
    def import_s(self) -> float:
        return self.import_end - self.launched

    @property
    def derive_s(self) -> float:
        """The bulk derive's time (or the bench's ``recompute --all``; or the time until the
        derive failed)."""
        if self.recompute_s is not None:
            return self.recompute_s
        return self.derive_end - self.import_end

    @property
    def works_per_s(self) -> float:
        return self.counts["works"] / self.import_s


def timestamp(value: dt.datetime) -> float:
    return value.timestamp()


async def read_import(url: str) -> tuple[list[FileRow], dict[str, int], int]:
    """The files' progress rows, row counts and events left unprocessed."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT path, entity, lines_done, started_at, finished_at FROM imported_files"
            " ORDER BY started_at"
        )
        files = [
            FileRow(
                r["path"],
                r["entity"],
                r["lines_done"],
                timestamp(r["started_at"]),
                timestamp(r["finished_at"]) if r["finished_at"] else None,
            )
            for r in rows
        ]
        counts = {}
        for table in (*COPY_TABLES, "coauthor_edges", "clusters"):
            counts[table] = int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
        pending = int(
            await connection.fetchval(
                "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"
            )
        )
    finally:
        await connection.close()
    return files, counts, pending


def read_report(path: Path) -> tuple[int, int]:
    lines = skipped = 0
    with contextlib.suppress(OSError), path.open(encoding="utf-8") as report:
        next(report, None)
        for line in report:
            lines += 1
            skipped += line.split("\t")[3:4] == ["skipped"]
    return lines, skipped


def run_import(args: argparse.Namespace, snapshot: Snapshot, work_dir: Path) -> ImportRun:
    """``bzpeer import openalex`` (through ``bench/timed_import.py``, which times its bulk
    derive) in its own process group, with the CPU of its processes and PostgreSQL sampled."""
    url = database_url(args)
    report = work_dir / "report.tsv"
    log = work_dir / "import.log"
    times = work_dir / "derive.json"
    command = [
        sys.executable,
        str(TIMED_IMPORT),
        "import",
        "openalex",
        str(snapshot.root),
        str(KFUPM_WORKS),
        "--jobs",
        str(args.jobs),
        "--report",
        str(report),
    ]
    if args.bulk_threshold is not None:
        command += ["--bulk-threshold", str(args.bulk_threshold)]
    env = service_env(url, work_dir / "data", freeze=not args.without_freeze)
    env[TIMES_ENV] = str(times)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    group: list[int] = []
    roles = [group_role("import", group), postgres_role(args.database)]
    with CpuSampler(roles) as sampler, log.open("wb") as out:
        launched = time.time()
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            start_new_session=True,
        )
        group.append(process.pid)
        try:
            stdout, _ = process.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            raise
        ended = time.time()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with contextlib.suppress(OSError):
        args.cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, args.cache / LAST_LOG)
    files, counts, pending = asyncio.run(read_import(url))
    complete = bool(files) and all(f.finished is not None for f in files)
    failure = None
    if process.returncode not in (0, IMPORT_SKIPPED_STATUS):
        failure = failure_summary(log)
        if not complete:  # not even the import's own part: nothing to measure
            raise SystemExit(f"ABORT: the import exited with {process.returncode}:\n{failure}")
    try:
        derive: dict[str, Any] = orjson.loads(times.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        derive = {"outcome": "untimed: the import did not get to its derive"}
    lines, skipped = read_report(report)
    run = ImportRun(
        launched=launched,
        ended=ended,
        status=process.returncode,
        summary=stdout.decode(errors="replace").strip(),
        files=files,
        counts=counts,
        pending_events=pending,
        derive=derive,
        command_cpu_s=(children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        report_lines=lines,
        report_skipped=skipped,
        failure=failure,
    )
    run.cpu_import = sampler.between(launched, run.import_end)
    run.cpu_derive = sampler.between(run.import_end, run.derive_end)
    if run.derive.get("outcome") == "nothing to derive":
        run.recompute_s = run_cli(url, work_dir, "recompute", "--all")
    return run


def failure_summary(log: Path, frames: int = 6, width: int = 300) -> str:
    """What a failed command's traceback says, short: its last frames in this repository's
    code and the exception (the first lines of its message; a failed statement's SQL and
    parameters can run to megabytes)."""
    lines = log.read_text(errors="replace").splitlines()
    ours = [
        line.strip()
        for line in lines
        if line.strip().startswith('File "') and str(REPO_ROOT) in line and ".venv" not in line
    ]
    raised = [
        i
        for i, line in enumerate(lines)
        if line[:1].isalpha() and ("Error" in line or "Exception" in line)
    ]
    message = lines[raised[-1] : raised[-1] + 3] if raised else lines[-5:]
    cut = [line if len(line) <= width else line[:width] + " [...]" for line in message]
    return "\n".join([*ours[-frames:], *cut])


# -- the copy floor -------------------------------------------------------------------------


@dataclass
class CopyFloor:
    seconds: float
    rows: dict[str, int]
    bytes: int
    cpu: dict[str, float]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


async def dump_rows(url: str, folder: Path, jobs: int) -> tuple[dict[str, list[str]], list[Path]]:
    """The import's rows as tab-separated shards (``<table>.<shard>.tsv``) and the scratch
    tables they go to; returns the columns copied per table and the shard scripts."""
    connection = await asyncpg.connect(url)
    columns: dict[str, list[str]] = {}
    scripts: list[list[str]] = [[] for _ in range(jobs)]
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE")
        await connection.execute(f"CREATE SCHEMA {SCRATCH_SCHEMA}")
        for table in COPY_TABLES:
            names = [
                r["column_name"]
                for r in await connection.fetch(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                    table,
                )
                if r["column_name"] not in NOT_WRITTEN_BY_IMPORT.get(table, set())
            ]
            columns[table] = names
            listed = ", ".join(names)
            await connection.execute(
                f"CREATE TABLE {SCRATCH_SCHEMA}.{table} AS SELECT {listed} FROM public.{table}"
                " WITH NO DATA"
            )
            key = next(k for k in SHARD_KEYS if k in names)
            for shard in range(jobs):
                path = folder / f"{table}.{shard}.tsv"
                await connection.copy_from_query(
                    f"SELECT {listed} FROM public.{table} WHERE {key} % {jobs} = {shard}",
                    output=str(path),
                    format="text",
                )
                scripts[shard].append(
                    f"\\copy {SCRATCH_SCHEMA}.{table} ({listed}) FROM '{path}' (FORMAT text)"
                )
    finally:
        await connection.close()
    paths = []
    for shard, lines in enumerate(scripts):
        path = folder / f"shard.{shard}.sql"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return columns, paths


async def scratch_counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {SCRATCH_SCHEMA}.{table}"))
            for table in COPY_TABLES
        }
    finally:
        await connection.close()


def copy_floor(args: argparse.Namespace, work_dir: Path) -> CopyFloor:
    url = database_url(args)
    folder = work_dir / "copy"
    folder.mkdir()
    _, scripts = asyncio.run(dump_rows(url, folder, args.jobs))
    size = sum(p.stat().st_size for p in folder.glob("*.tsv"))
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"]
    groups: list[int] = []
    with CpuSampler([group_role("psql", groups), postgres_role(args.database)]) as sampler:
        started = time.time()
        processes = [
            subprocess.Popen(
                [*command, str(script)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            for script in scripts
        ]
        groups.extend(p.pid for p in processes)
        errors = [p.communicate()[1] for p in processes]
        ended = time.time()
    for process, error in zip(processes, errors, strict=True):
        if process.returncode != 0:
            raise SystemExit(f"ABORT: psql failed ({process.returncode}): {error.decode()}")
    rows = asyncio.run(scratch_counts(url))
    return CopyFloor(ended - started, rows, size, sampler.between(started, ended))


# -- summary --------------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s"


def fmt_duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:,.1f} h ({hours / 24:,.1f} days)"


def print_snapshot(snapshot: Snapshot, reused: bool, kfupm_works: int) -> None:
    how = "reused" if reused else f"generated in {fmt_s(snapshot.seconds)}"
    print(
        f"snapshot {snapshot.root} ({how}): {snapshot.works:,} works in {snapshot.parts} parts, "
        f"{snapshot.authorships:,} authorships, {snapshot.authors_in_works:,} distinct authors, "
        f"{snapshot.author_records:,} author records; "
        f"{snapshot.uncompressed_bytes / 1e6:,.0f} MB of JSON "
        f"({snapshot.uncompressed_bytes / (snapshot.works + snapshot.author_records) / 1e3:.1f}"
        f" KB a record), {snapshot.compressed_bytes / 1e6:,.0f} MB gzipped; "
        f"plus {KFUPM_WORKS.name} ({kfupm_works:,} works)"
    )


def print_parse(floor: ParseFloor, jobs: int) -> None:
    print(
        f"parse floor: {floor.works_per_s:,.0f} works/s ({floor.works_per_s / jobs:,.0f} per "
        f"process): {floor.records:,} records ({floor.works:,} works) gunzipped and parsed in "
        f"{fmt_s(floor.seconds)} by {jobs} process(es); {format_cpu(floor.cpu)}"
    )


def print_import(run: ImportRun, jobs: int) -> None:
    summary = run.summary or "(no summary line)"
    print(f"import: bzpeer import openalex --jobs {jobs}: exit {run.status}; {summary}")
    print(
        f"  report: {run.report_lines:,} lines ({run.report_skipped:,} skipped items); "
        f"events left for the workers: {run.pending_events:,}"
    )
    first = min(f.started for f in run.files)
    phases = [f"startup {fmt_s(first - run.launched)}"]
    for entity in dict.fromkeys(f.entity for f in run.files):
        mine = [f for f in run.files if f.entity == entity]
        start = min(f.started for f in mine)
        end = max(f.finished or f.started for f in mine)
        phases.append(
            f"{entity} {fmt_s(end - start)} ({len(mine)} files, "
            f"{sum(f.lines for f in mine):,} records)"
        )
    if run.timed:
        phases.append(f"after the last batch {fmt_s(run.import_end - run.last_batch)}")
    print(f"  import {fmt_s(run.import_s)}, derive excluded: " + ", ".join(phases))
    counts = run.counts
    print(
        "  rows: "
        + ", ".join(f"{table} {counts[table]:,}" for table in (*COPY_TABLES, "coauthor_edges"))
    )
    print(
        f"  import works/s: {run.works_per_s:,.0f} ({counts['works']:,} works, "
        f"{counts['authorships']:,} authorships, {counts['authorships'] / run.import_s:,.0f}/s); "
        f"{format_cpu(run.cpu_import)}"
    )
    outcome = str(run.derive.get("outcome"))
    if run.failure is not None:
        print(
            f"  the bulk derive FAILED {fmt_s(run.ended - run.import_end)} after it started "
            f"({outcome}); {format_cpu(run.cpu_derive)}; from its log ({LAST_LOG} in the "
            "cache folder):"
        )
        print("    " + run.failure.replace("\n", "\n    "))
    elif run.derived:
        print(f"  bulk derive: {fmt_s(run.derive_s)}; {format_cpu(run.cpu_derive)}")
    elif run.recompute_s is not None:
        print(
            "  the import did not derive (no process passed --bulk-threshold new works); "
            f"bzpeer recompute --all run by the bench: {fmt_s(run.derive_s)}"
        )
    else:
        print(f"  derive {outcome}: {fmt_s(run.derive_s)} after the last batch")
    print(
        f"  end to end {fmt_s(run.ended - run.launched)}; CPU of the import's processes "
        f"{run.command_cpu_s:.1f} s"
    )


def print_copy(floor: CopyFloor, works: int, jobs: int) -> None:
    print(
        f"copy floor: {floor.total_rows / floor.seconds:,.0f} rows/s, "
        f"{works / floor.seconds:,.0f} works/s: {floor.total_rows:,} rows "
        f"({floor.bytes / 1e6:,.0f} MB of TSV) by {jobs} psql \\copy sessions in "
        f"{fmt_s(floor.seconds)}; {format_cpu(floor.cpu)}"
    )
    print("  " + ", ".join(f"{table} {rows:,}" for table, rows in floor.rows.items()))


def print_verdict(run: ImportRun, parse: ParseFloor, copy: CopyFloor, jobs: int) -> None:
    x = run.works_per_s
    y = x / parse.works_per_s
    derive = "FAILED" if run.failure is not None else fmt_s(run.derive_s)
    print(
        f"import / copy floor: {x / (run.counts['works'] / copy.seconds):.2f}; "
        f"bulk derive {derive} for {run.counts['works']:,} works"
    )
    full = FULL_SNAPSHOT_WORKS / x
    print(
        f"full snapshot ({FULL_SNAPSHOT_WORKS / 1e6:,.0f}M works) on this machine at "
        f"{x:,.0f} works/s: {fmt_duration(full)} (derive not included); at the parse "
        f"floor: {fmt_duration(FULL_SNAPSHOT_WORKS / parse.works_per_s)}"
    )
    warnings = [
        name
        for name, cpu in (
            ("parse floor", parse.cpu),
            ("import", run.cpu_import),
            ("copy", copy.cpu),
        )
        if disturbed(cpu)
    ]
    if warnings:
        print(
            "WARNING: processes outside the benchmark used over "
            f"{OTHER_CPU_WARNING:.0%} of the machine during: {', '.join(warnings)}"
        )
    met = x >= GOAL_WORKS_PER_S and y >= GOAL_RATIO
    cores = os.cpu_count() or 1
    note = "" if cores == GOAL_CORES else f" (this machine has {cores} cores)"
    print(
        f"goal: import >= {GOAL_WORKS_PER_S:,.0f} works/s and import / parse floor >= "
        f"{GOAL_RATIO:.2f} with every core used, on {GOAL_CORES} cores{note}: "
        f"{'MET' if met else 'NOT MET'} (--jobs {jobs})"
    )
    print(f"import works/s: {x:.0f}")
    print(f"import / parse floor: {y:.2f}")


# -- main -----------------------------------------------------------------------------------


def exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    snapshot, reused = ensure_snapshot(
        args.cache, args.works, args.seed, jobs=args.jobs, regenerate=args.regenerate
    )
    kfupm_works = sum(1 for _ in records_of(KFUPM_WORKS))
    print_snapshot(snapshot, reused, kfupm_works)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; "
        f"--jobs {args.jobs}",
        flush=True,
    )
    files = [*snapshot.files(), KFUPM_WORKS]
    works_files = {*snapshot.works_files(), KFUPM_WORKS}
    parse = parse_floor(files, works_files, args.jobs)
    print_parse(parse, args.jobs)
    asyncio.run(recreate_database(args))
    try:
        with tempfile.TemporaryDirectory(prefix="bzpeer-bench-import-") as tmp:
            work_dir = Path(tmp)
            migrate_s = run_cli(database_url(args), work_dir, "migrate")
            print(f"database {args.database}: created, migrated in {fmt_s(migrate_s)}", flush=True)
            print(f"import: running bzpeer import openalex --jobs {args.jobs} ...", flush=True)
            run = run_import(args, snapshot, work_dir)
            print_import(run, args.jobs)
            if run.counts["works"] != parse.works:
                print(
                    f"WARNING: {parse.works:,} works in the files, {run.counts['works']:,} stored"
                )
            copy = copy_floor(args, work_dir)
            print_copy(copy, run.counts["works"], args.jobs)
    finally:
        if args.keep:
            print(f"kept database {args.database} ({database_url(args)})")
        else:
            asyncio.run(drop_database(args))
    print_verdict(run, parse, copy, args.jobs)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
