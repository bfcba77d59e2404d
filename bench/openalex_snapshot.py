"""A synthetic OpenAlex snapshot for ``bench/import.py``, made from the real KFUPM records and
cached, plus the parse floor's worker (gunzip + JSON parse and nothing else).

Every synthetic work is a copy of a real work of ``tests/data/openalex/
openalex-kfupm-idb-works.jsonl.gz`` (drawn uniformly, with replacement), so it has the real field
set, sizes (about 17 KB uncompressed) and quirks (authorships without an author id, an author
listed twice, a 100-author list, no DOI, no source, no abstract, no topics), with these changes:

- a new work id ``W9<10 digits>`` (real ids are below W5000000000), also in ``ids.openalex``,
  and the template's DOI with ``/bzpeer-bench.<n>`` appended (so prefixes such as arXiv's stay);
- new authors in place of the template's: each distinct author id of the template (its length
  is what the list length follows: the KFUPM distribution, mean 4.9 authors per work, up to 100)
  becomes a distinct author of a pool of ``works * 5,394 / 3,684`` synthetic authors
  ``A9<10 digits>`` (the real ratio of author ids to works). Authors are dealt from a multiset
  in which each pool author appears as often as a real KFUPM author drawn at random does (most
  once, a few hundreds of times: the real skew, scaled), shuffled; a repeat within one work is
  redrawn. Each author has one name (from the real names) and, in the real proportion (about
  4 in 5), a synthetic ORCID iD with a valid checksum (``0009-9...``), the same in every work;
  ``raw_author_name`` and ``corresponding_author_ids`` follow;
- institutions, sources, topics, keywords, references, abstract and the rest stay as they are
  (the real ones are reused).

An authors file holds the most prolific authors in the real proportion of author records to
author ids (85 per 5,394), made from the 85 real author records in the same way (new id, name,
ORCID, ``works_count``; real institutions and topics).

Layout (the snapshot's, as ``service.imports.openalex.inputs`` reads it), under
``<cache>/v<GENERATOR_VERSION>-w<works>-s<seed>/``::

    works/manifest                                   Redshift manifest: url, content_length,
    works/updated_date=2024-01-01/part_000.gz ...    record_count per part
    authors/manifest
    authors/updated_date=2024-01-01/part_000.gz

with ``max(8, works / 12,500)`` works parts of equal size, so that ``--jobs`` has files to
share. ``.complete`` (written last) holds the figures of the snapshot; a folder without it is
generated again. Generating 100k works took 21 s on two cores (1.7 GB of JSON, 279 MB gzipped).
"""

from __future__ import annotations

import gzip
import math
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from service.researchers.service import orcid_from_digits

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "tests" / "data" / "openalex"
KFUPM_WORKS = DATA / "openalex-kfupm-idb-works.jsonl.gz"
KFUPM_AUTHORS = DATA / "openalex-kfupm-idb-authors.jsonl"

GENERATOR_VERSION = "1"
"""Bump when what is generated changes: older cached snapshots are not reused."""
OPENALEX = "https://openalex.org/"
WORK_BASE = 9_000_000_000
AUTHOR_BASE = 9_000_000_000
ORCID_PREFIX = "00099"
"""First 5 of the 15 digits of a synthetic ORCID iD; the other 10 are the author's number."""
PARTITION = "updated_date=2024-01-01"
WORKS_PER_PART = 12_500
MIN_PARTS = 8
COMPLETE = ".complete"


@dataclass(frozen=True)
class Snapshot:
    root: Path
    works: int
    authorships: int
    """Authorships with an author id (the ones an import stores, before folding repeats)."""
    authors_in_works: int
    """Distinct synthetic authors named by the works."""
    author_records: int
    parts: int
    uncompressed_bytes: int
    compressed_bytes: int
    seconds: float
    """Time it took to generate."""

    @property
    def works_dir(self) -> Path:
        return self.root / "works"

    def works_files(self) -> list[Path]:
        return sorted(self.works_dir.rglob("part_*.gz"))

    def files(self) -> list[Path]:
        """Every data file, authors first (the import's order)."""
        return sorted((self.root / "authors").rglob("part_*.gz")) + self.works_files()


# -- templates ---------------------------------------------------------------------------------


def template_author_ids(record: dict[str, Any]) -> list[str]:
    """The distinct author ids of a work record, in list order (entries without one left out)."""
    seen: dict[str, None] = {}
    for entry in record.get("authorships") or []:
        author = entry.get("author") if isinstance(entry, dict) else None
        key = author.get("id") if isinstance(author, dict) else None
        if isinstance(key, str):
            seen.setdefault(key, None)
    return list(seen)


@dataclass(frozen=True)
class Templates:
    lines: list[bytes]
    distinct_authors: npt.NDArray[np.int64]
    """Per template work: its distinct author ids."""
    works_per_author: npt.NDArray[np.int64]
    """Per real author id: the works naming it."""
    names: list[str]
    orcid_share: float
    """Share of real author ids that come with an ORCID iD."""
    author_records: list[bytes]


def load_templates() -> Templates:
    with gzip.open(KFUPM_WORKS, "rb") as stream:
        lines = [line for line in stream if line.strip()]
    distinct: list[int] = []
    works_of: Counter[str] = Counter()
    names: dict[str, str] = {}
    with_orcid: set[str] = set()
    for line in lines:
        record = orjson.loads(line)
        ids = template_author_ids(record)
        distinct.append(len(ids))
        works_of.update(ids)
        for entry in record["authorships"]:
            author = entry.get("author") or {}
            if isinstance(author.get("id"), str):
                names.setdefault(author["id"], author.get("display_name") or "")
                if author.get("orcid"):
                    with_orcid.add(author["id"])
    authors = [line for line in KFUPM_AUTHORS.read_bytes().splitlines() if line.strip()]
    return Templates(
        lines=lines,
        distinct_authors=np.array(distinct, dtype=np.int64),
        works_per_author=np.array(sorted(works_of.values()), dtype=np.int64),
        names=sorted({n for n in names.values() if n}),
        orcid_share=len(with_orcid) / len(works_of),
        author_records=authors,
    )


# -- synthetic authors ------------------------------------------------------------------------


def orcid_of(number: int) -> str:
    """A syntactically valid ORCID iD (ISO 7064 11,2 check digit), unique per number."""
    return orcid_from_digits(f"{ORCID_PREFIX}{number:010d}")


class Authors:
    """Names and ORCID iDs of pool authors, a function of their number."""

    def __init__(self, names: Sequence[str], orcid_share: float) -> None:
        self.names = names
        self.orcid_threshold = int(orcid_share * 1_000_003)

    def key(self, number: int) -> str:
        return f"A{AUTHOR_BASE + number}"

    def name(self, number: int) -> str:
        return self.names[(number * 2_654_435_761) % len(self.names)]

    def orcid(self, number: int) -> str | None:
        if (number * 40_503) % 1_000_003 >= self.orcid_threshold:
            return None
        return f"https://orcid.org/{orcid_of(number)}"

    def dehydrated(self, number: int) -> dict[str, Any]:
        return {
            "id": OPENALEX + self.key(number),
            "display_name": self.name(number),
            "orcid": self.orcid(number),
        }


@dataclass(frozen=True)
class Plan:
    """Which template each work copies and which pool authors it names."""

    template_of: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    """Work i's authors are ``dealt[offsets[i]:offsets[i + 1]]``."""
    dealt: npt.NDArray[np.int64]
    pool: int


def plan(templates: Templates, works: int, seed: int) -> Plan:
    rng = np.random.default_rng(seed)
    template_of = rng.integers(0, len(templates.lines), size=works)
    per_work = templates.distinct_authors[template_of]
    offsets = np.zeros(works + 1, dtype=np.int64)
    np.cumsum(per_work, out=offsets[1:])
    slots = int(offsets[-1])
    ratio = len(templates.works_per_author) / len(templates.lines)
    pool = max(1, round(works * ratio))
    appearances = rng.choice(templates.works_per_author, size=pool)
    dealt = np.repeat(np.arange(pool, dtype=np.int64), appearances)
    weights = appearances / appearances.sum()
    if len(dealt) < slots:
        dealt = np.concatenate([dealt, rng.choice(pool, size=slots - len(dealt), p=weights)])
    rng.shuffle(dealt)
    dealt = dealt[:slots].copy()
    spare = iter(rng.choice(pool, size=slots // 10 + 1_000, p=weights).tolist())
    for i in range(works):  # a repeat within one work is redrawn
        start, end = int(offsets[i]), int(offsets[i + 1])
        names = dealt[start:end]
        if end - start > 1 and len(set(names.tolist())) < end - start:
            seen: set[int] = set()
            for j in range(start, end):
                number = int(dealt[j])
                while number in seen:
                    number = next(spare)
                seen.add(number)
                dealt[j] = number
    return Plan(template_of, offsets, dealt, pool)


# -- writing ----------------------------------------------------------------------------------


def work_record(
    template: bytes, work_number: int, author_numbers: Sequence[int], authors: Authors
) -> dict[str, Any]:
    record: dict[str, Any] = orjson.loads(template)
    key = f"W{WORK_BASE + work_number}"
    record["id"] = OPENALEX + key
    ids = record.get("ids")
    if isinstance(ids, dict):
        ids["openalex"] = OPENALEX + key
        ids.pop("mag", None)
    if isinstance(record.get("doi"), str):
        record["doi"] = f"{record['doi']}/bzpeer-bench.{work_number}"
        if isinstance(ids, dict) and "doi" in ids:
            ids["doi"] = record["doi"]
    numbers = iter(author_numbers)
    mapping: dict[str, int] = {}
    for entry in record.get("authorships") or []:
        author = entry.get("author") if isinstance(entry, dict) else None
        old = author.get("id") if isinstance(author, dict) else None
        if not isinstance(old, str):
            continue
        if old not in mapping:
            mapping[old] = next(numbers)
        entry["author"] = authors.dehydrated(mapping[old])
        entry["raw_author_name"] = entry["author"]["display_name"]
    corresponding = record.get("corresponding_author_ids")
    if isinstance(corresponding, list):
        record["corresponding_author_ids"] = [
            OPENALEX + authors.key(mapping[c]) for c in corresponding if c in mapping
        ]
    return record


def author_record(template: bytes, number: int, works: int, authors: Authors) -> dict[str, Any]:
    record: dict[str, Any] = orjson.loads(template)
    key = authors.key(number)
    name = authors.name(number)
    orcid = authors.orcid(number)
    record["id"] = OPENALEX + key
    record["display_name"] = name
    record["display_name_alternatives"] = [name]
    record["orcid"] = orcid
    record["ids"] = {"openalex": OPENALEX + key} | ({"orcid": orcid} if orcid else {})
    record["works_count"] = works
    record["works_api_url"] = f"https://api.openalex.org/works?filter=author.id:{key}"
    return record


@dataclass(frozen=True)
class PartJob:
    path: Path
    first_work: int
    template_of: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    dealt: npt.NDArray[np.int64]


_WORKER: dict[str, Any] = {}


def _init_worker(names: list[str], orcid_share: float) -> None:
    with gzip.open(KFUPM_WORKS, "rb") as stream:
        _WORKER["templates"] = [line for line in stream if line.strip()]
    _WORKER["authors"] = Authors(names, orcid_share)


def _write_part(job: PartJob) -> tuple[Path, int, int, int]:
    """Writes one part; returns (path, records, uncompressed bytes, compressed bytes)."""
    templates: list[bytes] = _WORKER["templates"]
    authors: Authors = _WORKER["authors"]
    raw = 0
    temporary = job.path.with_name(job.path.name + ".tmp")
    with gzip.open(temporary, "wb", compresslevel=6) as out:
        for i, template in enumerate(job.template_of.tolist()):
            numbers = job.dealt[job.offsets[i] : job.offsets[i + 1]].tolist()
            line = orjson.dumps(
                work_record(templates[template], job.first_work + i, numbers, authors)
            )
            out.write(line + b"\n")
            raw += len(line) + 1
    temporary.rename(job.path)
    return job.path, len(job.template_of), raw, job.path.stat().st_size


def _write_manifest(folder: Path, entity: str, parts: Sequence[tuple[Path, int]]) -> None:
    entries = [
        {
            "url": f"s3://openalex/data/{entity}/{PARTITION}/{path.name}",
            "meta": {"content_length": path.stat().st_size, "record_count": count},
        }
        for path, count in parts
    ]
    (folder / "manifest").write_bytes(
        orjson.dumps(
            {"entries": entries}
            | {
                "meta": {
                    "content_length": sum(p.stat().st_size for p, _ in parts),
                    "record_count": sum(c for _, c in parts),
                }
            },
            option=orjson.OPT_INDENT_2,
        )
    )


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bzpeer" / "bench-import"


def snapshot_dir(cache: Path, works: int, seed: int) -> Path:
    return cache / f"v{GENERATOR_VERSION}-w{works}-s{seed}"


def read_snapshot(root: Path) -> Snapshot | None:
    try:
        figures = orjson.loads((root / COMPLETE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return Snapshot(root=root, **figures)


def ensure_snapshot(
    cache: Path, works: int, seed: int, *, jobs: int, regenerate: bool = False
) -> tuple[Snapshot, bool]:
    """The cached snapshot of this size and seed, generated first if needed; returns it and
    whether it was reused."""
    root = snapshot_dir(cache, works, seed)
    found = None if regenerate else read_snapshot(root)
    if found is not None:
        return found, True
    started = time.monotonic()
    if root.exists():
        shutil.rmtree(root)
    templates = load_templates()
    chosen = plan(templates, works, seed)
    parts = max(MIN_PARTS, math.ceil(works / WORKS_PER_PART))
    folder = root / "works" / PARTITION
    folder.mkdir(parents=True)
    bounds = [round(works * p / parts) for p in range(parts + 1)]
    jobs_list = []
    for p in range(parts):
        a, b = bounds[p], bounds[p + 1]
        start, end = chosen.offsets[a], chosen.offsets[b]
        jobs_list.append(
            PartJob(
                folder / f"part_{p:03d}.gz",
                a,
                chosen.template_of[a:b],
                chosen.offsets[a : b + 1] - start,
                chosen.dealt[start:end],
            )
        )
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        max(1, min(jobs, parts)),
        initializer=_init_worker,
        initargs=(templates.names, templates.orcid_share),
    ) as pool:
        written = pool.map(_write_part, jobs_list, chunksize=1)
    _write_manifest(root / "works", "works", [(path, count) for path, count, _, _ in written])
    authors = Authors(templates.names, templates.orcid_share)
    appearances = np.bincount(chosen.dealt, minlength=chosen.pool)
    members = round(chosen.pool * len(templates.author_records) / len(templates.works_per_author))
    prolific = np.argsort(-appearances, kind="stable")[: max(1, members)]
    author_folder = root / "authors" / PARTITION
    author_folder.mkdir(parents=True)
    author_part = author_folder / "part_000.gz"
    raw_authors = 0
    with gzip.open(author_part, "wb", compresslevel=6) as out:
        for i, number in enumerate(prolific.tolist()):
            template = templates.author_records[i % len(templates.author_records)]
            line = orjson.dumps(author_record(template, number, int(appearances[number]), authors))
            out.write(line + b"\n")
            raw_authors += len(line) + 1
    _write_manifest(root / "authors", "authors", [(author_part, len(prolific))])
    snapshot = Snapshot(
        root=root,
        works=works,
        authorships=len(chosen.dealt),
        authors_in_works=int(np.count_nonzero(appearances)),
        author_records=len(prolific),
        parts=parts,
        uncompressed_bytes=sum(raw for _, _, raw, _ in written) + raw_authors,
        compressed_bytes=sum(size for _, _, _, size in written) + author_part.stat().st_size,
        seconds=round(time.monotonic() - started, 1),
    )
    figures = {k: v for k, v in asdict(snapshot).items() if k != "root"}
    (root / COMPLETE).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return snapshot, False


# -- the parse floor ----------------------------------------------------------------------------


def records_of(path: Path) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines file, gzip-compressed or plain."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
        for line in stream:
            if line.strip():
                yield line


def parse_file(path: Path) -> int:
    """Gunzip and parse every record of a file, nothing else; returns the records."""
    records = 0
    for line in records_of(path):
        orjson.loads(line)
        records += 1
    return records


def warm(_: int) -> int:
    """A no-op task that makes a pool start its processes before anything is timed."""
    time.sleep(0.2)
    return os.getpid()
