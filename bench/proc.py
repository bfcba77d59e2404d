"""CPU time of processes, read from ``/proc``: the benchmarks print what each part used."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple


class ProcessCpu(NamedTuple):
    pid: int
    comm: str
    pgrp: int
    ticks: int
    """User + system CPU clock ticks so far."""


def processes_cpu() -> Iterator[ProcessCpu]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        yield ProcessCpu(int(entry.name), comm, int(fields[2]), int(fields[11]) + int(fields[12]))


def process_ticks(match: Callable[[int, str, int], bool]) -> dict[int, int]:
    """CPU clock ticks of each process for which ``match(pid, comm, pgrp)`` holds."""
    return {p.pid: p.ticks for p in processes_cpu() if match(p.pid, p.comm, p.pgrp)}
