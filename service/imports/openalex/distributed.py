"""A snapshot imported by the workers: ``bzpeer import openalex --enqueue`` sends one job per
file to the broker's ``imports`` queue, where every ``bzpeer worker`` (on any machine that sees
the files at the same path) takes them; the command waits for each kind of file to finish before
sending the next (topics before works, merges last), then derives in bulk if the jobs wrote in
bulk. A job that dies resumes its file where the last committed batch left it, like any run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.db.session import begin_writing
from service.imports.models import ImportedFile
from service.imports.openalex.batches import Counts
from service.imports.openalex.importer import (
    FileResult,
    RunResult,
    Sink,
    committed_notes,
    derive_if_pending,
    fill_all_affiliations,
    import_files,
    kinds_in_order,
)
from service.imports.openalex.inputs import Entity, InputFile, discover
from service.imports.openalex.progress import ProgressLog
from service.imports.openalex.store import OpenAlexRepository

IMPORT_FILE_JOB = "imports.openalex_file"
"""The actor name of one file's import."""
IMPORTS_QUEUE = "imports"


@dataclass(frozen=True)
class FileJob:
    """What a job message carries: one file and how to import it."""

    path: str
    entity: str
    merged: str | None
    partition: str
    bulk_threshold: int
    batch_lines: int

    def input_file(self) -> InputFile:
        return InputFile(
            Path(self.path),
            Entity(self.entity),
            Entity(self.merged) if self.merged else None,
            self.partition,
        )


def run_file_job(settings: Settings, job: FileJob) -> FileResult:
    """A worker's side: import the file (its report lines go to the database with its
    batches; its progress to the worker's log)."""
    (result,) = asyncio.run(
        import_files(
            settings,
            [job.input_file()],
            ProgressLog(job.path),
            bulk_threshold=job.bulk_threshold,
            batch_lines=job.batch_lines,
            affiliations=False,  # other workers' batches are out of sight: the command does it
        )
    )
    return result


def record_job_failure(settings: Settings, job: FileJob, error: str) -> None:
    """A job gave up (its last retry failed): the waiting command learns it from the file."""

    async def record() -> None:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                await begin_writing(session)
                await OpenAlexRepository(session).record_failure(job.path, error[-2_000:])
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(record())


def run_enqueued(
    settings: Settings,
    paths: Sequence[Path],
    sink: Sink,
    send: Callable[[dict[str, Any]], None],
    *,
    bulk_threshold: int,
    batch_lines: int,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> RunResult:
    """The command's side: send the jobs kind by kind, wait for each kind, derive at the end.
    ``send`` puts one job message (``FileJob`` fields) on the imports queue."""
    started = time.monotonic()
    inputs = discover(paths)
    result = RunResult(missing=list(inputs.missing))
    for group in kinds_in_order(inputs.files):
        runnable = [f for f in group if f.entity is not None]
        asyncio.run(_reset(settings, runnable))
        jobs = []
        for file in runnable:
            assert file.entity is not None
            job = FileJob(
                path=str(file.path),
                entity=file.entity.value,
                merged=file.merged.value if file.merged else None,
                partition=file.partition,
                bulk_threshold=bulk_threshold,
                batch_lines=batch_lines,
            )
            send(job.__dict__)
            jobs.append(job)
        states = asyncio.run(_wait(settings, [j.path for j in jobs], poll_s, timeout_s))
        for job in jobs:
            state = states[job.path]
            broken = None if state.finished_at is not None else (state.error or "not finished")
            counts = Counts(
                read=state.read,
                inserted=state.inserted,
                updated=state.updated,
                unchanged=state.unchanged,
                skipped=state.skipped,
            )
            sink.advance(state.read)
            result.files.append(FileResult(job.path, job.entity, counts, broken=broken))
        if runnable and runnable[0].entity is Entity.WORKS:
            asyncio.run(fill_all_affiliations(settings))
    sink.report(asyncio.run(committed_notes(settings, [f.path for f in result.files])))
    result.derived = asyncio.run(derive_if_pending(settings))
    result.seconds = time.monotonic() - started
    return result


async def _reset(settings: Settings, files: Sequence[InputFile]) -> None:
    """Mark each file as started by this run (a finished one starts over), so that waiting can
    tell this run's finish from an earlier one's."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            await begin_writing(session)
            repository = OpenAlexRepository(session)
            for file in files:
                assert file.entity is not None
                stat = file.path.stat()
                await repository.start_file(
                    str(file.path), file.entity.value, stat.st_size, stat.st_mtime_ns
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _wait(
    settings: Settings, paths: Sequence[str], poll_s: float, timeout_s: float | None
) -> dict[str, ImportedFile]:
    """Until every file is finished or stopped with an error (or the timeout)."""
    engine = create_engine(settings)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while True:
            async with create_sessionmaker(engine)() as session:
                states = await OpenAlexRepository(session).files(paths)
            if all(s.finished_at is not None or s.error is not None for s in states.values()):
                return states
            if deadline is not None and time.monotonic() > deadline:
                return states
            await asyncio.sleep(poll_s)
    finally:
        await engine.dispose()
