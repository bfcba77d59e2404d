"""The real OpenAlex records, read with the standard library (what the files say), imports of
them through the importer, and the SQL to look at the result."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.imports.openalex.importer import RunResult, run_import
from service.imports.openalex.records import ReportLine
from tests.support import DATA, settings_for

OPENALEX_DATA = DATA / "openalex"
WORKS_FILE = OPENALEX_DATA / "openalex-kfupm-idb-works.jsonl.gz"
AUTHORS_FILE = OPENALEX_DATA / "openalex-kfupm-idb-authors.jsonl"
MEMBER_FILE = OPENALEX_DATA / "openalex-kfupm-idb-works-A5000180362.jsonl"
LEGACY_FILE = OPENALEX_DATA / "openalex-random-sample-2022-works.jsonl.gz"
MEMBER = "A5000180362"
MEMBER_ORCID = "0000-0001-7056-6323"
OPENALEX = "https://openalex.org/"


def short(url: str) -> str:
    return url.removeprefix(OPENALEX)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class Raw:
    """What the files say."""

    records: list[dict[str, Any]]

    @cached_property
    def authors(self) -> dict[str, list[str]]:
        """Each work's distinct author ids in list order (null ids left out)."""
        lists: dict[str, list[str]] = {}
        for record in self.records:
            ids = [a["author"]["id"] for a in record["authorships"] if a["author"]["id"]]
            lists[short(record["id"])] = [short(i) for i in dict.fromkeys(ids)]
        return lists

    @cached_property
    def coauthors(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for authors in self.authors.values():
            for author in authors:
                found.setdefault(author, set()).update(a for a in authors if a != author)
        return found

    def newman(self, a: str, b: str) -> tuple[float, int]:
        """Newman's weight of a pair (sum of 1/(authors - 1) over joint works) and the number
        of joint works, straight from the author lists."""
        joint = [len(ids) for ids in self.authors.values() if a in ids and b in ids]
        return sum(1 / (n - 1) for n in joint), len(joint)


@pytest.fixture(scope="session")
def raw() -> Raw:
    return Raw(read_jsonl(WORKS_FILE))


@pytest.fixture(scope="session")
def raw_authors() -> list[dict[str, Any]]:
    return read_jsonl(AUTHORS_FILE)


@dataclass
class Collected:
    """A sink that keeps what an import reports."""

    records: int = 0
    lines: list[ReportLine] = field(default_factory=list)

    def advance(self, records: int) -> None:
        self.records += records

    def report(self, lines: Sequence[ReportLine]) -> None:
        self.lines.extend(lines)


@dataclass
class Imported:
    url: str
    result: RunResult
    sink: Collected


def import_into(url: str, *paths: Path, bulk_threshold: int = 5_000, jobs: int = 1) -> Imported:
    sink = Collected()
    result = run_import(
        settings_for(url), list(paths), sink, jobs=jobs, bulk_threshold=bulk_threshold
    )
    return Imported(url, result, sink)


def import_kfupm(url: str) -> None:
    """The KFUPM works and authors, in bulk (everything derived at the end)."""
    import_into(url, WORKS_FILE, AUTHORS_FILE, bulk_threshold=0)


def write_snapshot(folder: Path, records: list[dict[str, Any]], parts: int = 3) -> Path:
    """The works as a snapshot folder: ``works/updated_date=.../part_NNN.gz`` with its
    manifest, and the authors file as one partition of ``authors/``."""
    entries: list[dict[str, Any]] = []
    for number in range(parts):
        day = f"2025-0{number + 1}-01"
        path = folder / "works" / f"updated_date={day}" / f"part_{number:03d}.gz"
        path.parent.mkdir(parents=True)
        part = records[number::parts]
        path.write_bytes(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in part)))
        entries.append(
            {
                "url": f"s3://openalex/data/works/updated_date={day}/part_{number:03d}.gz",
                "meta": {"content_length": path.stat().st_size, "record_count": len(part)},
            }
        )
    (folder / "works" / "manifest").write_text(json.dumps({"entries": entries}))
    authors = folder / "authors" / "updated_date=2025-01-01" / "part_000.gz"
    authors.parent.mkdir(parents=True)
    authors.write_bytes(gzip.compress(AUTHORS_FILE.read_bytes()))
    return folder


SAME_CONTENT = (
    "SELECT openalex_id, title, doi FROM works ORDER BY 1",
    "SELECT w.openalex_id, r.openalex_id, a.position FROM authorships a "
    "JOIN works w ON w.id = a.work_id JOIN researchers r ON r.id = a.researcher_id ORDER BY 1, 3",
    "SELECT r.openalex_id, i.openalex_id FROM researchers r "
    "LEFT JOIN institutions i ON i.id = r.affiliation_id ORDER BY 1",
)
"""Statements whose answers two imports of the same records must share."""


def fetch(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        engine = create_engine(settings_for(url))
        try:
            async with create_sessionmaker(engine)() as session:
                return [tuple(row) for row in await session.execute(text(statement), params)]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def execute(url: str, statement: str, **params: Any) -> None:
    """Run ``statement`` in a transaction of its own, committed."""

    async def go() -> None:
        engine = create_engine(settings_for(url))
        try:
            async with engine.begin() as connection:
                await connection.execute(text(statement), params)
        finally:
            await engine.dispose()

    asyncio.run(go())


ORPHANS = {
    "authorships without their work": "SELECT COUNT(*) FROM authorships a "
    "WHERE NOT EXISTS (SELECT 1 FROM works w WHERE w.id = a.work_id)",
    "authorships without their researcher": "SELECT COUNT(*) FROM authorships a "
    "WHERE NOT EXISTS (SELECT 1 FROM researchers r WHERE r.id = a.researcher_id)",
    "institutions of missing authorships": "SELECT COUNT(*) FROM authorship_institutions ai "
    "WHERE NOT EXISTS (SELECT 1 FROM authorships a WHERE a.id = ai.authorship_id)",
    "missing institutions of authorships": "SELECT COUNT(*) FROM authorship_institutions ai "
    "WHERE NOT EXISTS (SELECT 1 FROM institutions i WHERE i.id = ai.institution_id)",
    "topics of missing works": "SELECT COUNT(*) FROM work_topics t "
    "WHERE NOT EXISTS (SELECT 1 FROM works w WHERE w.id = t.work_id)",
    "missing topics of works": "SELECT COUNT(*) FROM work_topics t "
    "WHERE NOT EXISTS (SELECT 1 FROM topics o WHERE o.id = t.topic_id)",
}
"""The join tables have no foreign keys (migration 0007): every row's parents must exist."""


def assert_no_orphans(url: str) -> None:
    found = {what: fetch(url, statement)[0][0] for what, statement in ORPHANS.items()}
    assert found == dict.fromkeys(ORPHANS, 0)


def mapping(url: str, statement: str, **params: Any) -> dict[Any, Any]:
    """The rows of a two-column query as a dict."""
    return {key: value for key, value in fetch(url, statement, **params)}


def settings(url: str, **overrides: Any) -> Settings:
    return settings_for(url, **overrides)
