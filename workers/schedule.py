"""The worker's periodic full recluster. It runs ``bzpeer recluster --if-older-than`` in a
child process: Leiden on a large graph holds the GIL for seconds, which would stall this
process's consumers and Dramatiq heartbeats. Every worker asks; the database decides that one
runs (``CoauthorGraphService.recluster_if_due``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from service.config import Settings
from service.logging import log


def recluster_command(settings: Settings) -> list[str]:
    interval = str(settings.recluster_interval_s)
    return [sys.executable, "-m", "service.cli", "recluster", "--if-older-than", interval]


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment with this process's database and seed, which may come from a Settings
    object rather than the environment (tests, embedded default)."""
    return {
        **os.environ,
        "DATABASE_URL": settings.resolved_database_url,
        "BZPEER_DATA_DIR": str(settings.data_dir),
        "BZPEER_CLUSTER_SEED": str(settings.cluster_seed),
    }


class ReclusterSchedule:
    """Every ``recluster_interval_s`` (the first time one interval after start), one child
    process; none while the previous one runs. Off when the interval is 0."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bzpeer-recluster", daemon=True)
        if settings.recluster_interval_s > 0:
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.recluster_interval_s):
            self.run_once()

    def run_once(self) -> None:
        done = subprocess.run(
            recluster_command(self.settings),
            env=child_environment(self.settings),
            capture_output=True,
            text=True,
            check=False,
        )
        self.runs += 1
        if done.returncode:
            log.error("recluster.failed", code=done.returncode, stderr=done.stderr[-2_000:])
        else:
            log.info("recluster.done", outcome=done.stdout.strip())

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1)
