"""Which files an import reads, what each holds, and their lines.

Accepted: JSON Lines files, gzip-compressed or plain, one entity per line (what the API's
exports and the snapshot's partitions hold), and folders in the snapshot's layout
(``<entity>/updated_date=YYYY-MM-DD/part_NNN.gz`` with a ``manifest`` per entity, and
``merged_ids/<entity>/YYYY-MM-DD.csv.gz``). A file's entity comes from the folder it sits in or
its name, else from the id of its first record.
"""

from __future__ import annotations

import csv
import enum
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson
from isal import igzip, isal_zlib

__all__ = [
    "Entity",
    "InputFile",
    "Inputs",
    "UnreadableInput",
    "discover",
    "lines_of",
    "merged_rows",
]


class Entity(enum.StrEnum):
    DOMAINS = "domains"
    FIELDS = "fields"
    SUBFIELDS = "subfields"
    TOPICS = "topics"
    INSTITUTIONS = "institutions"
    SOURCES = "sources"
    AUTHORS = "authors"
    WORKS = "works"
    MERGED_IDS = "merged_ids"


READ_BUFFER = 1 << 20
"""Bytes read from a file at a time."""
IMPORT_ORDER = list(Entity)
"""Parents before what names them; merges last, once both sides of each are stored."""

FOLDER_NAMES = {e.value: e for e in Entity} | {"venues": Entity.SOURCES}
"""Folder names of the snapshot (``venues`` is the 2022 snapshot's name for sources)."""

ID_PREFIXES = {
    "W": Entity.WORKS,
    "A": Entity.AUTHORS,
    "I": Entity.INSTITUTIONS,
    "S": Entity.SOURCES,
    "V": Entity.SOURCES,
    "T": Entity.TOPICS,
    "domains/": Entity.DOMAINS,
    "fields/": Entity.FIELDS,
    "subfields/": Entity.SUBFIELDS,
}

DATA_SUFFIXES = (".gz", ".jsonl", ".json", ".ndjson", ".csv")
GZIP_DATA_ERROR = cast(type[Exception], isal_zlib.error)
"""What ISA-L raises for corrupt deflate data (its stubs call it an instance)."""
PARTITION = re.compile(r"updated_date=(\d{4}-\d{2}-\d{2})")


class UnreadableInput(Exception):
    """Raised when a file cannot be read on from a line on (a truncated gzip, bad bytes)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class InputFile:
    path: Path
    entity: Entity | None
    """None: not an entity we import (publishers, funders, concepts...)."""
    merged: Entity | None = None
    """For a merged-ids list: the entity whose ids it merges."""
    partition: str = ""
    """The ``updated_date=`` partition it sits in (older partitions are imported first)."""

    @property
    def order(self) -> tuple[int, str, str]:
        rank = IMPORT_ORDER.index(self.entity) if self.entity else len(IMPORT_ORDER)
        return rank, self.partition, str(self.path)


@dataclass
class Inputs:
    files: list[InputFile]
    """In import order."""
    expected_records: dict[Path, int]
    """Record counts the snapshot's manifests give, by file."""
    missing: list[str]
    """Files a manifest lists that are not there."""

    @property
    def expected_total(self) -> int | None:
        """Records in every file, when the manifests count each one (else unknown: the records
        of a file they do not list would run past the total, and the time left below zero)."""
        counts = self.expected_records
        if not self.files or any(f.path not in counts for f in self.files):
            return None
        return sum(counts[f.path] for f in self.files)


def discover(paths: Sequence[Path]) -> Inputs:
    """Every data file under ``paths``, in import order, with what the manifests say. Raises
    FileNotFoundError for a path that does not exist."""
    found: dict[Path, InputFile] = {}
    expected: dict[Path, int] = {}
    missing: list[str] = []
    for given in paths:
        path = given.resolve()
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.endswith(DATA_SUFFIXES) and not p.name.startswith(".")
            )
            for manifest in sorted(path.rglob("manifest")):
                _read_manifest(manifest, expected, missing)
        elif path.exists():
            files = [path]
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
        for file in files:
            found.setdefault(file, _classify(file))
    return Inputs(sorted(found.values(), key=lambda f: f.order), expected, missing)


def _read_manifest(manifest: Path, expected: dict[Path, int], missing: list[str]) -> None:
    """A Redshift manifest: ``{"entries": [{"url": ".../<entity>/updated_date=.../part_000.gz",
    "meta": {"content_length": ..., "record_count": ...}}]}``; urls name S3 objects, whose
    path below the entity's folder is the file's path below the manifest's folder."""
    try:
        entries = orjson.loads(manifest.read_bytes()).get("entries") or []
    except (orjson.JSONDecodeError, AttributeError, OSError) as exc:
        missing.append(f"{manifest}: unreadable manifest ({exc})")
        return
    folder = manifest.parent
    for entry in entries:
        url = str(entry.get("url", ""))
        tail = url.split(f"/{folder.name}/", 1)[-1] if f"/{folder.name}/" in url else ""
        if not tail:
            continue
        local = (folder / tail).resolve()
        count = (entry.get("meta") or {}).get("record_count")
        if not local.exists():
            missing.append(f"{local}: listed in {manifest}, not found")
        elif isinstance(count, int):
            expected[local] = count


def _classify(path: Path) -> InputFile:
    partition = match.group(1) if (match := PARTITION.search(str(path))) else ""
    parts = [p.lower() for p in path.parts]
    if "merged_ids" in parts:
        after = parts[parts.index("merged_ids") + 1 :]
        merged = FOLDER_NAMES.get(after[0]) if len(after) > 1 else None
        return InputFile(path, Entity.MERGED_IDS, merged or _entity_in_name(path), partition)
    for part in reversed(parts[:-1]):
        if part in FOLDER_NAMES:
            return InputFile(path, FOLDER_NAMES[part], partition=partition)
        if part in ("publishers", "funders", "concepts", "keywords", "awards"):
            return InputFile(path, None, partition=partition)
    return InputFile(path, _entity_in_name(path) or _entity_of_first_record(path), None, partition)


def _entity_in_name(path: Path) -> Entity | None:
    name = path.name.lower()
    # The longest names first: "subfields" holds "fields".
    for folder in sorted(FOLDER_NAMES, key=len, reverse=True):
        if re.search(rf"(^|[^a-z]){folder}([^a-z]|$)", name):
            return FOLDER_NAMES[folder]
    return None


def _entity_of_first_record(path: Path) -> Entity | None:
    try:
        for _, line in lines_of(path):
            record = orjson.loads(line)
            raw = record.get("id") if isinstance(record, dict) else None
            if not isinstance(raw, str):
                return None
            short = raw.removeprefix("https://openalex.org/")
            for prefix, entity in sorted(ID_PREFIXES.items(), key=lambda p: -len(p[0])):
                if short.startswith(prefix):
                    return entity
            return None
    except (UnreadableInput, orjson.JSONDecodeError):
        return None
    return None


def lines_of(path: Path, after: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` from line ``after + 1`` on, blank lines included (they keep
    their numbers). Raises UnreadableInput (with the line it reached) when the file breaks off
    or is not what it claims (a truncated gzip, gzip bytes that are not)."""
    number = 0
    try:
        with _open(path) as stream:
            for number, line in enumerate(stream, start=1):
                if number > after:
                    yield number, line
    except (EOFError, gzip.BadGzipFile, GZIP_DATA_ERROR, OSError) as exc:
        raise UnreadableInput(number + 1, f"{type(exc).__name__}: {exc}") from exc


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        # ISA-L's gzip: the same format and errors as the standard module's, in about half
        # its time (47 -> 25 us a 17 KB record). A large buffer: gzip's own reads 8 KB at a
        # time, and records are about 17 KB.
        stream: Any = igzip.open(path, "rb")  # type: ignore[no-untyped-call]
        return io.BufferedReader(stream, buffer_size=READ_BUFFER)
    return path.open("rb", buffering=READ_BUFFER)


def merged_rows(path: Path, after: int = 0) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a merged-ids list (CSV with a header: ``merge_date,id,merge_into_id``) as
    ``(line number, row)``; the header is line 1."""
    header: list[str] | None = None
    for number, line in lines_of(path):
        (values,) = list(csv.reader([line.decode("utf-8", "replace")])) or [[]]
        if header is None:
            header = [v.strip().lower() for v in values]
            continue
        if number > after and values:
            yield number, dict(zip(header, values, strict=False))
