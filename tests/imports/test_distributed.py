"""A snapshot imported by ``bzpeer worker`` processes: ``bzpeer import openalex --enqueue`` sends
one job per file through a private Redis, two workers share them, one of them dies mid-file
(SIGKILL after its second committed batch) and the job resumes where it stopped; the result is
the same as one process importing the files."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.events.private_servers import PrivateRedis, private_redis
from tests.imports.support import (
    AUTHORS_FILE,
    SAME_CONTENT,
    WORKS_FILE,
    Raw,
    fetch,
    import_into,
    write_snapshot,
)
from tests.support import REPO, create_database, drop_database, environment, stop_process

__all__ = ["private_redis"]

BZPEER = [sys.executable, "-m", "service.cli"]


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[tuple[str, str]]:
    urls = (create_database("postgresql", tmp_path), create_database("postgresql", tmp_path))
    try:
        yield urls
    finally:
        for url in urls:
            drop_database(url)


def test_workers_share_a_snapshot_and_a_killed_job_resumes(
    private_redis: PrivateRedis, databases: tuple[str, str], tmp_path: Path, raw: Raw
) -> None:
    distributed, single = databases
    snapshot = write_snapshot(tmp_path / "snapshot", raw.records)
    env = environment(
        DATABASE_URL=distributed,
        REDIS_URL=private_redis.url(),
        BZPEER_BROKER_NAMESPACE=f"bzpeer-test-{uuid.uuid4().hex[:8]}",
        BZPEER_DATA_DIR=str(tmp_path / "data"),
        BZPEER_RECLUSTER_INTERVAL_S="0",
        BZPEER_WORKER_HEARTBEAT_TIMEOUT_MS="2000",
        BZPEER_WORKER_MAINTENANCE_CHANCE="1000000",  # requeue a dead worker's jobs at once
        BZPEER_LOG_LEVEL="INFO",
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [*BZPEER, *args],
            cwd=REPO,
            env=env | extra,
            stdout=(logs / f"{name}.out").open("wb"),
            stderr=(logs / f"{name}.log").open("wb"),
        )
        processes.append(process)
        return process

    try:
        command = start(
            "command",
            *("import", "openalex", str(snapshot), "--enqueue", "--batch-size", "300"),
            *("--report", str(tmp_path / "report.tsv")),
        )
        # Alone at first, this worker imports the authors (one batch), takes a part of the
        # works and kills itself (SIGKILL) once that file's second batch is committed.
        dying = start(
            "dying", "worker", "--threads", "1", BZPEER_FAILPOINTS="import.after_commit=kill:2"
        )
        assert dying.wait(timeout=120) == -9, (logs / "dying.log").read_text()[-2000:]
        # Another worker finishes: its maintenance requeues the dead one's jobs.
        start("steady", "worker", "--threads", "2")
        assert command.wait(timeout=180) == 3, (logs / "command.log").read_text()[-3000:]
    finally:
        for process in processes:
            stop_process(process)
    done = (logs / "command.out").read_text()
    assert f"read {len(raw.records) + 85:,}," in done, done
    import_into(single, WORKS_FILE, AUTHORS_FILE)
    for statement in SAME_CONTENT:
        assert fetch(distributed, statement) == fetch(single, statement), statement
    # Each work's event once: the batch the dying worker had committed was not done again.
    assert fetch(distributed, "SELECT COUNT(*) FROM outbox_events") == [(len(raw.records),)]
    report = (tmp_path / "report.tsv").read_text().splitlines()
    assert sum(1 for line in report if "\tskipped\t" in line) == 73  # as one process reports
    finished = [
        json.loads(line)
        for line in (logs / "steady.log").read_text().splitlines()
        if '"import.file_done"' in line
    ]
    # The dead worker's part went on from the batch it had committed.
    assert [f["resumed_at"] for f in finished if f["resumed_at"]] == [600]
    assert sum(f["read"] for f in finished) == len(raw.records) - 600
