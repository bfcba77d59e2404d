"""``bzpeer import openalex``: files in, batches committed with their progress, events or a bulk
derive at the end.

Small imports go through the events, as any change does (a ``works.added`` per new work, a
``works.changed`` per work whose authors or topics changed), so that the workers keep edges,
clusters, counters and trust current. Past ``bulk_threshold`` new works in one run the import
stops emitting them and, once every file is done, recomputes everything derived in one pass
(``service.recompute``), which is far cheaper than one event per work; then it emits one
``imports.completed``. A run stopped anywhere resumes after its last committed batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.db.engine import BULK_LOAD_SETTINGS, create_engine, create_sessionmaker
from service.db.session import begin_writing
from service.events.service import emit
from service.failpoints import Failpoints
from service.heap import freeze_startup_objects
from service.imports.openalex.batches import Counts, Outcome, parse, store_references, write
from service.imports.openalex.inputs import (
    Entity,
    InputFile,
    UnreadableInput,
    discover,
    lines_of,
    merged_rows,
)
from service.imports.openalex.records import ReportLine
from service.imports.openalex.store import (
    BatchRace,
    OpenAlexRepository,
    RefCache,
    latest_affiliations,
)
from service.recompute import recompute_everything
from service.search.pending import defer_search_indexing

BATCH_LINES = 1_000
"""Records per transaction."""
BULK_THRESHOLD = 5_000
"""New works in one run (per importing process) after which the import derives in bulk."""
RETRIES = 5
"""A batch that PostgreSQL refused (deadlock with a parallel import, serialization) runs
again."""
RETRYABLE = ("40001", "40P01")


class Sink(Protocol):
    """Where a running import reports: progress and report lines."""

    def advance(self, records: int) -> None: ...

    def report(self, lines: Sequence[ReportLine]) -> None: ...


@dataclass
class FileResult:
    path: str
    entity: str
    counts: Counts
    resumed_at: int = 0
    """Lines a previous run had done."""
    broken: str | None = None
    """Why the file could not be read to its end (the rest of the run went on)."""


@dataclass
class RunResult:
    files: list[FileResult] = field(default_factory=list)
    derived: bool = False
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)

    @property
    def totals(self) -> Counts:
        total = Counts()
        for file in self.files:
            total.add(file.counts)
        return total

    @property
    def skipped_anything(self) -> bool:
        return bool(self.totals.skipped or self.missing or any(f.broken for f in self.files))


class NewWorks(Protocol):
    """New works counted across a run (all its processes): past the bulk threshold, the run
    stops emitting an event per work."""

    @property
    def value(self) -> int: ...

    def add(self, count: int) -> None: ...


@dataclass
class LocalCount:
    value: int = 0

    def add(self, count: int) -> None:
        self.value += count


class SharedCount:
    """A count shared by the processes of a run (a multiprocessing manager's value)."""

    def __init__(self, shared: Any, lock: Any) -> None:
        self.shared = shared
        self.lock = lock

    @property
    def value(self) -> int:
        return int(self.shared.value)

    def add(self, count: int) -> None:
        with self.lock:
            self.shared.value += count


class FileImporter:
    """Imports files one after another into one database (one process)."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        sink: Sink,
        *,
        bulk_threshold: int = BULK_THRESHOLD,
        batch_lines: int = BATCH_LINES,
        new_works: NewWorks | None = None,
        affiliations: bool = True,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.sink = sink
        self.bulk_threshold = bulk_threshold
        self.batch_lines = batch_lines
        self.new_works: NewWorks = new_works or LocalCount()
        self.failpoints = Failpoints(settings.failpoints)
        self.cache = RefCache()
        self.affiliations = affiliations

    @property
    def bulk(self) -> bool:
        return self.new_works.value >= self.bulk_threshold

    async def run(self, file: InputFile) -> FileResult:
        stat = file.path.stat()
        entity = file.entity.value if file.entity else "unknown"
        result = FileResult(str(file.path), entity, Counts())
        if file.entity is None:
            result.broken = "not an entity this service imports"
            self.sink.report([ReportLine(str(file.path), 0, "", result.broken)])
            return result
        async with self._transaction() as session:
            done = await OpenAlexRepository(session).start_file(
                str(file.path), entity, stat.st_size, stat.st_mtime_ns
            )
        result.resumed_at = done
        rows = merged_rows if file.entity is Entity.MERGED_IDS else lines_of
        batch: list[tuple[int, Any]] = []
        last = done
        try:
            for number, line in rows(file.path, after=done):
                batch.append((number, line))
                last = number
                if len(batch) >= self.batch_lines:
                    await self._apply(file, batch, last, result)
                    batch = []
        except UnreadableInput as exc:
            result.broken = f"line {exc.line}: {exc.reason}"
            broken = ReportLine(str(file.path), exc.line, "", exc.reason)
            last = exc.line - 1
        await self._apply(
            file,
            batch,
            last,
            result,
            finished=result.broken is None,
            error=result.broken,
            also=[broken] if result.broken else [],
        )
        return result

    async def _apply(
        self,
        file: InputFile,
        batch: Sequence[tuple[int, Any]],
        last: int,
        result: FileResult,
        *,
        finished: bool = False,
        error: str | None = None,
        also: Sequence[ReportLine] = (),
    ) -> None:
        """Write a batch, its report lines (and ``also``, the file's own) and the file's
        progress in one transaction."""
        parsed = parse(file, batch)
        events = not self.bulk
        for attempt in range(RETRIES):
            try:
                # The entities named in passing first, committed on their own: a parallel
                # import naming the same new author waits for this short transaction, not for
                # the batch's whole write (such waits took a quarter of the backends' time at
                # --jobs 2). Should the batch then fail, they stay, named by the works that the
                # retry or the resumed run writes.
                async with self._transaction() as session:
                    if not events:
                        await defer_search_indexing(session)
                    references = await store_references(session, parsed, self.cache)
                async with self._transaction() as session:
                    outcome: Outcome = await write(
                        session,
                        parsed,
                        events=events,
                        affiliations=self.affiliations,
                        cache=self.cache,
                        references=references,
                    )
                    repository = OpenAlexRepository(session)
                    await repository.add_notes([*outcome.report, *also])
                    await repository.advance(
                        str(file.path),
                        last,
                        counts=outcome.counts.tally(),
                        finished=finished,
                        error=error,
                        derive_pending=not events,
                    )
                    self.failpoints.reach("import.before_commit")
                self.failpoints.reach("import.after_commit")
                break
            except (DBAPIError, BatchRace) as failure:
                code = getattr(getattr(failure, "orig", None), "sqlstate", None)
                retryable = isinstance(failure, BatchRace) or code in RETRYABLE
                if not retryable or attempt == RETRIES - 1:
                    raise
                # What the aborted transaction stored is gone: forget the ids it gave out.
                self.cache = RefCache()
                # Apart from the batch it ran into, so that the two do not meet again.
                await asyncio.sleep(random.uniform(0, 0.05 * 2**attempt))
        self.new_works.add(len(outcome.counts.new_work_ids))
        result.counts.add(outcome.counts)
        self.sink.advance(outcome.counts.read)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> Any:
        async with self.sessionmaker() as session:
            await begin_writing(session)
            yield session
            await session.commit()


async def fill_all_affiliations(settings: Settings, page: int = 2_000) -> None:
    """Every researcher known only from works gets the institution of their latest work: after
    parallel imports of works, whose batches could not see each other's. On PostgreSQL, when
    a bulk derive is pending, that derive writes them instead, in the rewrite of every
    researcher it makes anyway (a rewrite of its own took 5-7 s at 150k researchers)."""
    engine = create_engine(settings, maintenance=True)
    try:
        if engine.dialect.name == "postgresql":
            async with create_sessionmaker(engine)() as session:
                repository = OpenAlexRepository(session)
                if not await repository.derive_pending():
                    await repository.fill_all_affiliations()
                    await session.commit()
            return
        after = 0
        while True:
            async with create_sessionmaker(engine)() as session:
                await begin_writing(session)
                repository = OpenAlexRepository(session)
                ids = await repository.researchers_without_record(after, page)
                await repository.fill_affiliations(ids)
                await session.commit()
            if len(ids) < page:
                return
            after = ids[-1]
    finally:
        await engine.dispose()


async def derive_if_pending(settings: Settings) -> bool:
    """After a bulk import (or a run of one that stopped before its end): recompute everything
    derived, clear the marks, and announce it. Returns whether it ran."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            if not await OpenAlexRepository(session).derive_pending():
                return False
        postgresql = engine.dialect.name == "postgresql"
    finally:
        await engine.dispose()

    async def settle_the_marks(session: AsyncSession) -> None:
        # In the recompute's transaction and snapshot: a file imported in bulk after it began
        # keeps its mark for the next run.
        files = await OpenAlexRepository(session).clear_derive_pending()
        emit(session, "imports.completed", files=files)

    # On SQLite the run fills them itself (`fill_all_affiliations`): DISTINCT ON is PostgreSQL's.
    affiliations = latest_affiliations() if postgresql else None
    await recompute_everything(settings, also=settle_the_marks, affiliations=affiliations)
    return True


async def import_files(
    settings: Settings,
    files: Sequence[InputFile],
    sink: Sink,
    *,
    bulk_threshold: int,
    batch_lines: int = BATCH_LINES,
    new_works: NewWorks | None = None,
    affiliations: bool = True,
) -> list[FileResult]:
    """Import these files in this process, one after another."""
    engine = create_engine(settings, maintenance=True, server_settings=BULK_LOAD_SETTINGS)
    try:
        importer = FileImporter(
            settings,
            create_sessionmaker(engine),
            sink,
            bulk_threshold=bulk_threshold,
            batch_lines=batch_lines,
            new_works=new_works,
            affiliations=affiliations,
        )
        if settings.freeze_startup_objects:
            freeze_startup_objects()
        return [await importer.run(file) for file in files]
    finally:
        await engine.dispose()


def run_import(
    settings: Settings,
    paths: Sequence[Path],
    sink: Sink,
    *,
    jobs: int = 1,
    bulk_threshold: int = BULK_THRESHOLD,
    batch_lines: int = BATCH_LINES,
) -> RunResult:
    """The whole command: discover, import (over ``jobs`` processes), derive if needed."""
    started = time.monotonic()
    inputs = discover(paths)
    result = RunResult(missing=list(inputs.missing))
    new_works = LocalCount()
    for line in inputs.missing:
        sink.report([ReportLine(line.split(":", 1)[0], 0, "", line.split(": ", 1)[-1])])
    for group in kinds_in_order(inputs.files):
        if jobs <= 1 or len(group) <= 1:
            result.files += asyncio.run(
                import_files(
                    settings,
                    group,
                    sink,
                    bulk_threshold=bulk_threshold,
                    batch_lines=batch_lines,
                    new_works=new_works,
                )
            )
        else:
            result.files += _in_processes(
                settings, group, sink, jobs, bulk_threshold, batch_lines, new_works
            )
        if len(group) > 1 and jobs > 1 and group[0].entity is Entity.WORKS:
            asyncio.run(fill_all_affiliations(settings))
    sink.report(asyncio.run(committed_notes(settings, [f.path for f in result.files])))
    result.derived = asyncio.run(derive_if_pending(settings))
    result.seconds = time.monotonic() - started
    return result


async def committed_notes(settings: Settings, paths: Sequence[str]) -> list[ReportLine]:
    """The report lines the batches of these files committed, in file order."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await OpenAlexRepository(session).notes(paths)
    finally:
        await engine.dispose()


def kinds_in_order(files: Sequence[InputFile]) -> Iterator[list[InputFile]]:
    """Files in runs of one entity kind, in import order: a kind starts once the kinds it
    names are in (topics before works...), while the files of one kind run in parallel."""
    group: list[InputFile] = []
    for file in files:
        if group and group[0].entity != file.entity:
            yield group
            group = []
        group.append(file)
    if group:
        yield group


def _in_processes(
    settings: Settings,
    files: Sequence[InputFile],
    sink: Sink,
    jobs: int,
    bulk_threshold: int,
    batch_lines: int,
    new_works: LocalCount,
) -> list[FileResult]:
    """The files shared out to ``jobs`` processes (largest first), each with its own engine;
    their progress and report lines come back through a queue."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        queue = manager.Queue()
        shared, lock = manager.Value("q", new_works.value), manager.Lock()
        ordered = sorted(files, key=lambda f: -f.path.stat().st_size)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [
                pool.submit(
                    _import_in_child,
                    settings,
                    [file],
                    queue,
                    bulk_threshold,
                    batch_lines,
                    (shared, lock),
                )
                for file in ordered
            ]
            pending = set(futures)
            while pending:
                _drain(queue, sink)
                pending = {f for f in pending if not f.done()}
                time.sleep(0.1)
            _drain(queue, sink)
            results = [r for f in futures for r in f.result()]
            new_works.value = int(shared.value)
    by_path = {r.path: r for r in results}
    return [by_path[str(f.path)] for f in files]


def _drain(queue: Any, sink: Sink) -> None:
    while not queue.empty():
        kind, value = queue.get()
        if kind == "advance":
            sink.advance(value)
        else:
            sink.report(value)


class _QueueSink:
    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def advance(self, records: int) -> None:
        self.queue.put(("advance", records))

    def report(self, lines: Sequence[ReportLine]) -> None:
        if lines:
            self.queue.put(("report", list(lines)))


def _import_in_child(
    settings: Settings,
    files: Sequence[InputFile],
    queue: Any,
    bulk_threshold: int,
    batch_lines: int,
    counter: tuple[Any, Any],
) -> list[FileResult]:
    return asyncio.run(
        import_files(
            settings,
            files,
            _QueueSink(queue),
            bulk_threshold=bulk_threshold,
            batch_lines=batch_lines,
            new_works=SharedCount(*counter),
            affiliations=False,
        )
    )


__all__ = [
    "BULK_THRESHOLD",
    "FileImporter",
    "FileResult",
    "RunResult",
    "Sink",
    "derive_if_pending",
    "run_import",
]
