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

from service.imports.openalex.batches import ReportLine

REPORT_HEADER = "file\tline\tentity_id\tkind\treason\n"


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
