"""What an operator sees while an import runs, and the report it leaves.

On a terminal a progress bar with records/s and the time left (when the manifests give the
total); otherwise a plain line every ``interval`` seconds. Every item left out or repaired is a
tab-separated line of the report (file, line, entity id, skipped|repaired, reason)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from service.imports.openalex.records import ReportLine
from service.logging import log

REPORT_HEADER = "file\tline\tentity_id\tkind\treason\n"


class ProgressLog:
    """A worker's import of one file: a log line every ``interval`` seconds (its report lines
    are in the database, written with their batches)."""

    def __init__(self, path: str, interval: float = 30.0) -> None:
        self.path = path
        self.interval = interval
        self.records = 0
        self.started = self._last = time.monotonic()

    def advance(self, records: int) -> None:
        self.records += records
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            rate = self.records / max(now - self.started, 1e-9)
            log.info("import.progress", path=self.path, records=self.records, per_second=rate)

    def report(self, lines: Sequence[ReportLine]) -> None:
        """Nothing: the batches stored them."""


class ImportSink:
    """Progress and report of one ``bzpeer import`` run."""

    def __init__(
        self,
        report_path: Path,
        *,
        total: int | None = None,
        stream: IO[str] | None = None,
        interval: float = 5.0,
    ) -> None:
        self.report_path = report_path
        self.stream = stream or sys.stderr
        self.interval = interval
        self.records = 0
        self.lines = 0
        self.skipped = 0
        self.started = time.monotonic()
        self._last = self.started
        self._report = report_path.open("w", encoding="utf-8")
        self._report.write(REPORT_HEADER)
        self._bar: Any = None
        if self.stream.isatty():
            self._bar = tqdm(
                total=total, unit=" records", unit_scale=True, file=self.stream, smoothing=0.1
            )
        self.total = total

    def advance(self, records: int) -> None:
        self.records += records
        if self._bar is not None:
            self._bar.update(records)
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            rate = self.records / max(now - self.started, 1e-9)
            left = (
                f", {(self.total - self.records) / rate:.0f} s left" if self.total and rate else ""
            )
            print(
                f"import: {self.records:,} records, {rate:,.0f}/s{left}",
                file=self.stream,
                flush=True,
            )

    def report(self, lines: Sequence[ReportLine]) -> None:
        for line in lines:
            self._report.write(line.tsv())
            self.lines += 1
            self.skipped += line.skipped
        if lines:
            self._report.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._report.close()
