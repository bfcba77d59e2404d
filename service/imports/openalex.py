"""Loads OpenAlex work records (the current schema: ``primary_location``, ``topics``,
``authorships[].institutions``) through the models, in a few bulk statements per table. Good
enough for tests and demos; the full importer (updating rows already there, merging duplicate
records, the legacy ``host_venue``/``concepts`` schema) is a later issue. Never commits and
computes nothing derived: the caller runs ``service.recompute.recompute_all`` afterwards.

Rules, each applied without cleaning the input first:

- Rows are keyed by their short OpenAlex id (``W123``, ``A123``, ``I123``, ``S123``, ``T123``;
  ``domains/3``, ``fields/22``, ``subfields/2211`` for the topic levels above a topic). A
  researcher, institution, venue or topic already stored under its id is reused as it is (an
  institution also under its ROR id); a work already stored is skipped.
- An authorship keeps its 1-based place on the record's author list, so skipped entries leave
  gaps. One without an author id is skipped (a line in the report); an author listed again on the
  same work is folded into their first authorship, institutions merged (a line in ``merged``).
- A researcher's display name and ORCID are the first ones seen; a malformed ORCID, or one already
  held by another researcher, is left out (a line in the report).
- A new researcher's affiliation is the institution named on most of their authorships in this
  load; a tie goes to the institution they were first seen with (file order).
- A text longer than its column is cut to fit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Column, Enum, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import table_of
from service.db.repository import chunked
from service.errors import BadUserInput
from service.institutions.models import Institution
from service.researchers.models import Researcher
from service.researchers.names import fold_name
from service.researchers.service import normalize_orcid
from service.topics.models import Topic, TopicLevel
from service.works.models import (
    Authorship,
    AuthorshipInstitution,
    Venue,
    VenueType,
    Work,
    WorkTopic,
    WorkType,
)

OPENALEX = "https://openalex.org/"
DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:")
ARXIV_DOI = "10.48550/arxiv."
"""DataCite's DOIs for arXiv preprints: ``10.48550/arxiv.<arXiv id>``."""
MAX_ID_LENGTH = 32
"""The shortest ``openalex_id`` column's length."""
LOOKUP_BATCH = 2_000
"""Ids per ``IN`` list when looking for rows already stored."""

WORK_TYPES: Mapping[str, WorkType] = {
    "article": WorkType.ARTICLE,
    "journal-article": WorkType.ARTICLE,
    "preprint": WorkType.PREPRINT,
    "posted-content": WorkType.PREPRINT,
    "book": WorkType.BOOK,
    "monograph": WorkType.BOOK,
    "edited-book": WorkType.BOOK,
    "book-chapter": WorkType.BOOK_CHAPTER,
    "dataset": WorkType.DATASET,
    "dissertation": WorkType.DISSERTATION,
    "review": WorkType.REVIEW,
    "report": WorkType.REPORT,
    "proceedings-article": WorkType.PROCEEDINGS_ARTICLE,
}
"""OpenAlex work types (and the Crossref names of the legacy schema) we have a type for; every
other one (``letter``, ``erratum``, ``peer-review``, ``paratext``, ...) is ``OTHER``."""

VENUE_TYPES: Mapping[str, VenueType] = {
    "journal": VenueType.JOURNAL,
    "repository": VenueType.REPOSITORY,
    "conference": VenueType.CONFERENCE,
    "book series": VenueType.BOOK_SERIES,
    "ebook platform": VenueType.EBOOK_PLATFORM,
}

TOPIC_LEVELS = (TopicLevel.DOMAIN, TopicLevel.FIELD, TopicLevel.SUBFIELD, TopicLevel.TOPIC)
"""Parents before children: the order topic rows are inserted in."""


@dataclass
class LoadReport:
    """What a load added (new rows only) and what it left out."""

    works: int = 0
    researchers: int = 0
    institutions: int = 0
    venues: int = 0
    topics: int = 0
    """Topic rows of every level (domains, fields and subfields included)."""
    authorships: int = 0
    skipped: list[str] = field(default_factory=list)
    """One line per record or item left out, naming the work and why: ``"W123: authorship 5
    has no author id (Jane Doe)"``."""
    merged: list[str] = field(default_factory=list)
    """One line per author listed again on a work, folded into their first authorship."""


@dataclass
class _Authorship:
    position: int
    author: str
    raw_name: str | None
    institutions: list[str]


@dataclass
class _Work:
    key: str
    row: dict[str, Any]
    venue: str | None
    authorships: list[_Authorship] = field(default_factory=list)
    topics: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)


@dataclass
class _Parsed:
    """The records of one load, as rows keyed by OpenAlex id, in first-seen order. Records are
    parsed as they are read (the JSON of a whole file would not fit in memory); what only
    works already stored refer to is dropped by ``keep`` before anything is written."""

    works: list[_Work] = field(default_factory=list)
    researchers: dict[str, dict[str, Any]] = field(default_factory=dict)
    institutions: dict[str, dict[str, Any]] = field(default_factory=dict)
    venues: dict[str, dict[str, Any]] = field(default_factory=dict)
    topics: dict[str, tuple[TopicLevel, str | None, dict[str, Any]]] = field(default_factory=dict)
    """Key -> (level, parent key, row)."""
    bad_orcids: dict[str, list[str]] = field(default_factory=dict)
    """Malformed ORCID iDs seen, by author."""

    def keep(self, stored_works: Collection[str], report: LoadReport) -> None:
        """Drop the works already stored, and every row only they refer to; report the lines
        of the works kept."""
        works = []
        for work in self.works:
            if work.key in stored_works:
                report.skipped.append(f"{work.key}: already loaded")
            else:
                works.append(work)
                report.skipped.extend(work.skipped)
                report.merged.extend(work.merged)
        self.works = works
        authors = {a.author for w in works for a in w.authorships}
        institutions = {i for w in works for a in w.authorships for i in a.institutions}
        venues = {w.venue for w in works}
        topics: set[str] = set()
        for key in {t for w in works for t in w.topics}:
            node: str | None = key
            while node is not None and node not in topics:
                topics.add(node)
                node = self.topics[node][1]
        self.researchers = {k: v for k, v in self.researchers.items() if k in authors}
        self.institutions = {k: v for k, v in self.institutions.items() if k in institutions}
        self.venues = {k: v for k, v in self.venues.items() if k in venues}
        self.topics = {k: v for k, v in self.topics.items() if k in topics}


async def load_openalex_works(session: AsyncSession, lines: Iterable[str | bytes]) -> LoadReport:
    """Add the works of these JSON lines (one OpenAlex work record each) with their authors,
    institutions, venues and topics. Returns what was added and a line for everything left out.
    The caller commits, then recomputes derived data."""
    report = LoadReport()
    parsed = _Parsed()
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            report.skipped.append(f"line {number}: not JSON ({exc})")
            continue
        key = _short_id(record.get("id") if isinstance(record, dict) else None, "W")
        if key is None:
            report.skipped.append(f"line {number}: no OpenAlex work id")
        elif key in seen:
            report.skipped.append(f"{key}: repeated at line {number}; the first record kept")
        elif not (record.get("title") or record.get("display_name")):
            report.skipped.append(f"{key}: no title")
        else:
            seen.add(key)
            parsed.works.append(_parse_work(parsed, key, record))
    stored = await _stored_ids(session, table_of(Work), [w.key for w in parsed.works])
    parsed.keep(stored.keys(), report)
    await _Writer(session, parsed, report).write()
    return report


def _parse_work(parsed: _Parsed, key: str, record: dict[str, Any]) -> _Work:
    doi = _doi(record.get("doi"))
    row = {
        "openalex_id": key,
        "doi": doi,
        "arxiv_id": doi.removeprefix(ARXIV_DOI) if doi and doi.startswith(ARXIV_DOI) else None,
        "title": record.get("title") or record.get("display_name"),
        "abstract": _abstract(record.get("abstract_inverted_index")),
        "type": WORK_TYPES.get(str(record.get("type")), WorkType.OTHER),
        "publication_year": _int(record.get("publication_year")),
        "publication_date": _date(record.get("publication_date")),
        "cited_by_count": _int(record.get("cited_by_count")) or 0,
    }
    work = _Work(key, row, _parse_venue(parsed, record))
    by_author: dict[str, _Authorship] = {}
    for position, entry in enumerate(record.get("authorships") or [], start=1):
        author = entry.get("author") or {}
        name = author.get("display_name") or entry.get("raw_author_name")
        author_key = _short_id(author.get("id"), "A")
        if author_key is None:
            work.skipped.append(f"{key}: authorship {position} has no author id ({name})")
            continue
        institutions = _parse_institutions(parsed, work, position, entry)
        if author_key in by_author:
            first = by_author[author_key]
            first.institutions.extend(i for i in institutions if i not in first.institutions)
            work.merged.append(
                f"{key}: {author_key} listed again at authorship {position}; "
                f"authorship {first.position} kept"
            )
            continue
        by_author[author_key] = _Authorship(
            position, author_key, entry.get("raw_author_name"), institutions
        )
        work.authorships.append(by_author[author_key])
        _parse_researcher(parsed, author_key, name, author.get("orcid"))
    for topic in record.get("topics") or []:
        topic_key = _parse_topic(parsed, topic)
        if topic_key is None:
            work.skipped.append(f"{key}: a topic has no id ({topic.get('display_name')})")
        elif topic_key not in work.topics:
            work.topics[topic_key] = float(topic.get("score") or 0.0)
    return work


def _parse_researcher(parsed: _Parsed, key: str, name: str | None, orcid: object) -> None:
    if key not in parsed.researchers:
        display_name = name or key
        parsed.researchers[key] = {
            "openalex_id": key,
            "display_name": display_name,
            "search_name": fold_name(display_name),
            "orcid": None,
        }
    researcher = parsed.researchers[key]
    if researcher["orcid"] is not None or not isinstance(orcid, str) or not orcid:
        return
    try:
        researcher["orcid"] = normalize_orcid(orcid)
    except BadUserInput:
        known = parsed.bad_orcids.setdefault(key, [])
        if orcid not in known:
            known.append(orcid)


def _parse_venue(parsed: _Parsed, record: dict[str, Any]) -> str | None:
    source = (record.get("primary_location") or {}).get("source") or {}
    key = _short_id(source.get("id"), "S")
    if key is not None and key not in parsed.venues:
        parsed.venues[key] = {
            "openalex_id": key,
            "display_name": source.get("display_name") or key,
            "type": VENUE_TYPES.get(str(source.get("type")), VenueType.OTHER),
            "issn_l": source.get("issn_l"),
        }
    return key


def _parse_institutions(
    parsed: _Parsed, work: _Work, position: int, entry: dict[str, Any]
) -> list[str]:
    keys: list[str] = []
    for institution in entry.get("institutions") or []:
        key = _short_id(institution.get("id"), "I")
        if key is None:
            work.skipped.append(
                f"{work.key}: authorship {position} names an institution with no id "
                f"({institution.get('display_name')})"
            )
            continue
        if key not in keys:
            keys.append(key)
        if key not in parsed.institutions:
            country = institution.get("country_code")
            parsed.institutions[key] = {
                "openalex_id": key,
                "ror_id": _ror(institution.get("ror")),
                "display_name": institution.get("display_name") or key,
                "country_code": country if country and len(country) == 2 else None,
                "type": institution.get("type"),
            }
    return keys


def _parse_topic(parsed: _Parsed, topic: dict[str, Any]) -> str | None:
    """Adds the topic and whichever of its domain, field and subfield are named; returns its
    key (None when it has no id)."""
    parent: str | None = None
    key: str | None = None
    for level, node in zip(
        TOPIC_LEVELS,
        (topic.get("domain"), topic.get("field"), topic.get("subfield"), topic),
        strict=True,
    ):
        node = node or {}
        key = _short_id(node.get("id"), "")
        if key is None:
            continue
        if key not in parsed.topics:
            name = node.get("display_name") or key
            parsed.topics[key] = (level, parent, {"openalex_id": key, "display_name": name})
        parent = key
    return key


class _Writer:
    """Inserts what ``_Parsed`` holds: one lookup per table for rows already stored, then one
    executemany per table (RETURNING the new ids with a natural key where later rows need
    them)."""

    def __init__(self, session: AsyncSession, parsed: _Parsed, report: LoadReport) -> None:
        self.session = session
        self.parsed = parsed
        self.report = report

    async def write(self) -> None:
        parsed = self.parsed
        institutions = await self._institutions()
        venues, self.report.venues = await self._by_key(table_of(Venue), parsed.venues)
        topics = await self._topics()
        researchers = await self._researchers(institutions)
        works = parsed.works
        work_ids, self.report.works = await self._insert_new(
            table_of(Work),
            {w.key: w.row | {"venue_id": venues[w.venue] if w.venue else None} for w in works},
            stored={},
        )
        table = table_of(Authorship)
        authorship_ids = await self._insert(
            table,
            [
                {
                    "work_id": work_ids[w.key],
                    "researcher_id": researchers[a.author],
                    "position": a.position,
                    "raw_author_name": a.raw_name,
                }
                for w in works
                for a in w.authorships
            ],
            key=(table.c.work_id, table.c.researcher_id),
        )
        self.report.authorships = len(authorship_ids)
        await self._insert(
            table_of(AuthorshipInstitution),
            [
                {
                    "authorship_id": authorship_ids[work_ids[w.key], researchers[a.author]],
                    "institution_id": institutions[key],
                }
                for w in works
                for a in w.authorships
                for key in a.institutions
            ],
        )
        await self._insert(
            table_of(WorkTopic),
            [
                {"work_id": work_ids[w.key], "topic_id": topics[key], "score": score}
                for w in works
                for key, score in w.topics.items()
            ],
        )

    async def _institutions(self) -> dict[str, int]:
        """Institutions by key. One stored under another OpenAlex id but the same ROR id (an
        OpenAlex merge) is reused too."""
        table = table_of(Institution)
        rows = self.parsed.institutions
        ids = await _stored_ids(self.session, table, list(rows))
        missing = {k: r["ror_id"] for k, r in rows.items() if k not in ids and r["ror_id"]}
        stored_rors = await _stored_ids(
            self.session, table, list(set(missing.values())), column=table.c.ror_id
        )
        ids |= {k: stored_rors[ror] for k, ror in missing.items() if ror in stored_rors}
        seen_rors: dict[str, str] = {}
        for key, row in rows.items():
            if key in ids or not row["ror_id"]:
                continue
            if row["ror_id"] in seen_rors:
                self.report.skipped.append(
                    f"{key}: ROR id {row['ror_id']} is also {seen_rors[row['ror_id']]}'s; "
                    "stored without it"
                )
                row["ror_id"] = None
            else:
                seen_rors[row["ror_id"]] = key
        new, self.report.institutions = await self._insert_new(table, rows, ids)
        return ids | new

    async def _topics(self) -> dict[str, int]:
        table = table_of(Topic)
        ids = await _stored_ids(self.session, table, list(self.parsed.topics))
        for level in TOPIC_LEVELS:
            rows = {
                key: row | {"level": level, "parent_id": ids.get(parent) if parent else None}
                for key, (node_level, parent, row) in self.parsed.topics.items()
                if node_level is level and key not in ids
            }
            new, added = await self._insert_new(table, rows, ids)
            ids |= new
            self.report.topics += added
        return ids

    async def _researchers(self, institutions: Mapping[str, int]) -> dict[str, int]:
        table = table_of(Researcher)
        rows = self.parsed.researchers
        ids = await _stored_ids(self.session, table, list(rows))
        orcids = {r["orcid"]: k for k, r in rows.items() if k not in ids and r["orcid"]}
        taken = await _stored_ids(self.session, table, list(orcids), column=table.c.orcid)
        held: dict[str, str] = {}
        for key, row in rows.items():
            orcid = row["orcid"]
            if key in ids:
                continue
            if orcid is None:
                self.report.skipped.extend(
                    f"{key}: malformed ORCID {bad!r}; stored without one"
                    for bad in self.parsed.bad_orcids.get(key, ())
                )
                continue
            if orcid in taken or held.setdefault(orcid, key) != key:
                self.report.skipped.append(
                    f"{key}: ORCID {orcid} already belongs to another researcher; stored without it"
                )
                row["orcid"] = None
        affiliations = _affiliations(self.parsed.works)
        for key, row in rows.items():
            affiliation = affiliations.get(key)
            row["affiliation_id"] = institutions[affiliation] if affiliation else None
        new, self.report.researchers = await self._insert_new(table, rows, ids)
        return ids | new

    async def _by_key(
        self, table: Table, rows: Mapping[str, dict[str, Any]]
    ) -> tuple[dict[str, int], int]:
        ids = await _stored_ids(self.session, table, list(rows))
        new, added = await self._insert_new(table, rows, ids)
        return ids | new, added

    async def _insert_new(
        self, table: Table, rows: Mapping[str, dict[str, Any]], stored: Mapping[str, int]
    ) -> tuple[dict[str, int], int]:
        """Insert the rows whose key is not stored; returns their ids by key and their number."""
        new = [row for key, row in rows.items() if key not in stored]
        ids = await self._insert(table, new, key=(table.c.openalex_id,))
        return {key: id_ for (key,), id_ in ids.items()}, len(ids)

    async def _insert(
        self, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[Column[Any]] = ()
    ) -> dict[tuple[Any, ...], int]:
        """One executemany (SQLAlchemy batches it into multi-row INSERTs). Given ``key``
        columns, unique among the rows, returns the new ids by their values: RETURNING in
        parameter order would send one row per statement on SQLite."""
        if not rows:
            return {}
        fitted = _fit(table, rows)
        if not key:
            await self.session.execute(insert(table), fitted)
            return {}
        stmt = insert(table).returning(table.c.id, *key)
        return {tuple(values): id_ for id_, *values in await self.session.execute(stmt, fitted)}


async def _stored_ids(
    session: AsyncSession, table: Table, values: Sequence[str], column: Column[Any] | None = None
) -> dict[str, int]:
    """Ids of the rows already stored with these values (of ``openalex_id`` unless told)."""
    column = table.c.openalex_id if column is None else column
    found: dict[str, int] = {}
    for batch in chunked(values, LOOKUP_BATCH):
        stmt = select(column, table.c.id).where(column.in_(batch))
        found.update((value, id_) for value, id_ in await session.execute(stmt))
    return found


def _affiliations(works: Iterable[_Work]) -> dict[str, str]:
    """Each author's most named institution on their authorships; a tie goes to the one named
    first (file order)."""
    counts: dict[str, Counter[str]] = {}
    for work in works:
        for authorship in work.authorships:
            if authorship.institutions:
                if authorship.author not in counts:
                    counts[authorship.author] = Counter()
                counts[authorship.author].update(authorship.institutions)
    # Counter.most_common keeps first-inserted order among equal counts.
    return {author: c.most_common(1)[0][0] for author, c in counts.items()}


def _fit(table: Table, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with every text cut to its column's length (PostgreSQL refuses longer ones)."""
    limits = {
        column.name: column.type.length
        for column in table.columns
        if isinstance(column.type, String)
        and not isinstance(column.type, Enum)
        and column.type.length
    }
    fitted = []
    for row in rows:
        long = [
            name
            for name, limit in limits.items()
            if isinstance(value := row.get(name), str) and len(value) > limit
        ]
        fitted.append(row | {name: row[name][: limits[name]] for name in long} if long else row)
    return fitted


def _short_id(value: object, prefix: str) -> str | None:
    """``https://openalex.org/W123`` -> ``W123`` (None when missing, not of that kind or too
    long for an ``openalex_id`` column); ``prefix`` "" accepts any (``domains/3``)."""
    if not isinstance(value, str) or not value.startswith(OPENALEX):
        return None
    short = value.removeprefix(OPENALEX)
    if prefix and not (short.startswith(prefix) and short[len(prefix) :].isdigit()):
        return None
    return short if 0 < len(short) <= MAX_ID_LENGTH else None


def _doi(value: object) -> str | None:
    """Lower-cased, without the resolver prefix."""
    if not isinstance(value, str) or not value.strip():
        return None
    doi = value.strip().lower()
    for prefix in DOI_PREFIXES:
        doi = doi.removeprefix(prefix)
    return doi or None


def _ror(value: object) -> str | None:
    """``https://ror.org/00rqy9422`` -> ``00rqy9422``."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().removeprefix("https://ror.org/").removeprefix("http://ror.org/")


def _abstract(index: object) -> str | None:
    """The text of an ``abstract_inverted_index`` (word -> positions), words in position order."""
    if not isinstance(index, dict) or not index:
        return None
    placed = sorted((p, word) for word, positions in index.items() for p in positions or ())
    return " ".join(word for _, word in placed) or None


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
