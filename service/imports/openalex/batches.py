"""One batch of lines of one file, mapped and written in one transaction, with its events and the
file's progress: the unit an import commits, retries and resumes by. The entities the batch names
in passing (authors, institutions, venues, topics) may be stored just before, in a transaction of
their own (``store_references``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from service.events.service import emit
from service.imports.openalex.inputs import Entity, InputFile
from service.imports.openalex.records import (
    EntityRows,
    Refs,
    ReportLine,
    Rows,
    Unreadable,
    WorkRow,
    WorkRows,
    map_author,
    map_institution,
    map_source,
    map_topic,
    map_work,
    short_id,
)
from service.imports.openalex.store import (
    Merged,
    OpenAlexRepository,
    RefCache,
    Written,
    WrittenWorks,
)
from service.search.pending import defer_search_indexing
from service.topics.models import TopicLevel

ENTITY_MAPPERS: dict[Entity, Callable[[object], Rows]] = {
    Entity.WORKS: map_work,
    Entity.AUTHORS: map_author,
    Entity.INSTITUTIONS: map_institution,
    Entity.SOURCES: map_source,
    Entity.TOPICS: lambda r: map_topic(r, TopicLevel.TOPIC),
    Entity.SUBFIELDS: lambda r: map_topic(r, TopicLevel.SUBFIELD),
    Entity.FIELDS: lambda r: map_topic(r, TopicLevel.FIELD),
    Entity.DOMAINS: lambda r: map_topic(r, TopicLevel.DOMAIN),
}
MERGED_PREFIXES = {
    Entity.AUTHORS: "A",
    Entity.WORKS: "W",
    Entity.INSTITUTIONS: "I",
    Entity.SOURCES: "S",
    Entity.TOPICS: "T",
}


@dataclass
class Counts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    """Records left out whole (not JSON, no id, no title...)."""
    new_work_ids: list[int] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.read += other.read
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.new_work_ids += other.new_work_ids

    def tally(self) -> dict[str, int]:
        """The counts a file's progress row keeps."""
        return {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    def add_written(self, written: Written) -> None:
        self.inserted += len(written.inserted)
        self.updated += len(written.updated)
        self.unchanged += len(written.unchanged)


@dataclass
class Parsed:
    """A batch's records as rows, the line each key came from, and the report so far."""

    file: InputFile
    refs: Refs = field(default_factory=Refs)
    entities: dict[str, EntityRows] = field(default_factory=dict)
    works: dict[str, WorkRow] = field(default_factory=dict)
    merges: list[tuple[int, str, str, dt.date | None]] = field(default_factory=list)
    """(line, old key, survivor key, merge date)."""
    line_of: dict[str, int] = field(default_factory=dict)
    report: list[ReportLine] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def note(self, line: int, entity_id: str, reason: str, skipped: bool = True) -> None:
        self.report.append(ReportLine(str(self.file.path), line, entity_id, reason, skipped))


def parse(file: InputFile, entries: Sequence[tuple[int, bytes]]) -> Parsed:
    """Map a batch of lines; everything left out gets a report line."""
    parsed = Parsed(file)
    if file.entity is Entity.MERGED_IDS:
        _parse_merges(parsed, entries)
        return parsed
    assert file.entity is not None
    mapper = ENTITY_MAPPERS[file.entity]
    for number, line in entries:
        if not line.strip():
            continue
        parsed.counts.read += 1
        try:
            rows = mapper(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            parsed.counts.skipped += 1
            parsed.note(number, "", f"not JSON ({exc})")
            continue
        except Unreadable as exc:
            parsed.counts.skipped += 1
            parsed.note(number, exc.entity_id, exc.reason)
            continue
        key = _key_of(rows)
        if key in parsed.works or key in parsed.entities:
            parsed.counts.skipped += 1
            parsed.note(number, key, f"repeated (first at line {parsed.line_of[key]}); first kept")
            continue
        for note in rows.notes:
            parsed.note(number, note.entity_id, note.reason, note.skipped)
        parsed.refs.update(rows.refs)
        for ref in (*rows.refs.researchers, *rows.refs.institutions):
            parsed.line_of.setdefault(ref, number)
        parsed.line_of[key] = number
        if isinstance(rows, EntityRows):
            parsed.entities[key] = rows
        elif isinstance(rows, WorkRows) and rows.work is not None:
            parsed.works[key] = rows.work
    return parsed


def _key_of(rows: Rows) -> str:
    if isinstance(rows, EntityRows):
        row: Any = rows.researcher or rows.institution or rows.venue or rows.topic
        return str(row.key)
    assert isinstance(rows, WorkRows) and rows.work is not None
    return rows.work.key


def _parse_merges(parsed: Parsed, entries: Sequence[tuple[int, Any]]) -> None:
    prefix = MERGED_PREFIXES.get(parsed.file.merged) if parsed.file.merged else None
    for number, row in entries:
        parsed.counts.read += 1
        old = short_id(row.get("id"), prefix or "")
        survivor = short_id(row.get("merge_into_id"), prefix or "")
        if prefix is None or old is None or survivor is None or old == survivor:
            parsed.counts.skipped += 1
            parsed.note(number, str(row.get("id", "")), "not a merge of ids we import")
            continue
        try:
            merged_on = dt.date.fromisoformat(str(row.get("merge_date", "")))
        except ValueError:
            merged_on = None
        parsed.merges.append((number, old, survivor, merged_on))


@dataclass
class Outcome:
    counts: Counts
    report: list[ReportLine]
    works: WrittenWorks | None = None
    """For a batch of works: what became of each, by key."""


@dataclass
class References:
    """The ids of the entities a batch names in passing (institutions; for works also venues,
    topics and authors), by key, stored where they were missing; and what storing them
    noted."""

    institutions: dict[str, int]
    venues: dict[str, int] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    researchers: dict[str, int] = field(default_factory=dict)
    notes: list[Any] = field(default_factory=list)


async def store_references(
    session: AsyncSession, parsed: Parsed, cache: RefCache | None = None
) -> References:
    """Look up the entities the batch names in passing and store the missing ones."""
    repository = OpenAlexRepository(session, cache)
    notes: list[Any] = []
    refs = parsed.refs
    institutions = await repository.ensure_institutions(refs.institutions, notes)
    if parsed.file.entity is not Entity.WORKS:
        return References(institutions, notes=notes)
    venues = await repository.ensure_venues(refs.venues)
    topics = await repository.ensure_topics(refs.topics)
    researchers = await repository.ensure_researchers(refs.researchers, notes)
    return References(institutions, venues, topics, researchers, notes)


async def write(
    session: AsyncSession,
    parsed: Parsed,
    *,
    events: bool,
    affiliations: bool = True,
    cache: RefCache | None = None,
    references: References | None = None,
) -> Outcome:
    """Write a parsed batch in ``session``'s transaction (the caller commits). ``events``:
    emit the event of each change (off in bulk mode, where everything derived is recomputed
    at the end). ``affiliations``: give the authors known only from works the institution of
    their latest work now (off when parallel imports would race on it: the run does it at its
    end; skipped in bulk mode on PostgreSQL, where the bulk derive does it). ``references``:
    what ``store_references`` answered for this batch, when the caller stored them apart
    (else they are stored here, in the same transaction). In bulk mode the
    search index of the works and researchers is left to the bulk derive too
    (``service.search.pending``)."""
    if not events:
        await defer_search_indexing(session)
    if references is None:
        references = await store_references(session, parsed, cache)
    repository = OpenAlexRepository(session, cache)
    notes: list[Any] = list(references.notes)
    counts = Counts(read=parsed.counts.read, skipped=parsed.counts.skipped)
    entity = parsed.file.entity
    refs = parsed.refs
    written_works: WrittenWorks | None = None
    institutions = references.institutions
    if entity is Entity.WORKS:
        researchers = references.researchers
        written = await repository.write_works(
            list(parsed.works.values()),
            researchers,
            institutions,
            references.venues,
            references.topics,
        )
        counts.add_written(written)
        counts.new_work_ids = written.new_ids
        written_works = written
        # In bulk on PostgreSQL the derive writes every affiliation in the one rewrite of each
        # researcher it makes anyway; here a rewrite of each batch's authors was a fifth of a
        # one-process import.
        if affiliations and (events or not repository.postgresql):
            authors = {researchers[a.author] for w in parsed.works.values() for a in w.authorships}
            await repository.fill_affiliations(authors)
        if events:
            for work_id in written.new_ids:
                emit(session, "works.added", work_id=work_id)
            _emit_rewired(session, written.rewired)
    elif entity is Entity.MERGED_IDS:
        await _merge(session, repository, parsed, counts, notes, events=events)
    else:
        rows = parsed.entities
        if entity is Entity.AUTHORS:
            found = {k: r.researcher for k, r in rows.items() if r.researcher}
            counts.add_written(await repository.upsert_researchers(found, institutions))
        elif entity is Entity.INSTITUTIONS:
            found_i = {k: r.institution for k, r in rows.items() if r.institution}
            counts.add_written(await repository.upsert_institutions(found_i))
        elif entity is Entity.SOURCES:
            found_v = {k: r.venue for k, r in rows.items() if r.venue}
            counts.add_written(await repository.upsert_venues(found_v))
        else:
            parents = await repository.ensure_topics(refs.topics)
            found_t = {k: r.topic for k, r in rows.items() if r.topic}
            counts.add_written(await repository.upsert_topics(found_t, parents))
    report = list(parsed.report)
    for note in notes:
        line = parsed.line_of.get(note.entity_id, 0)
        report.append(
            ReportLine(str(parsed.file.path), line, note.entity_id, note.reason, note.skipped)
        )
    return Outcome(counts, report, written_works)


def _emit_rewired(session: AsyncSession, rewired: dict[int, list[int]]) -> None:
    for work_id, before in sorted(rewired.items()):
        emit(session, "works.changed", work_id=work_id, authors_before=before)


async def _merge(
    session: AsyncSession,
    repository: OpenAlexRepository,
    parsed: Parsed,
    counts: Counts,
    notes: list[Any],
    *,
    events: bool,
) -> None:
    done = await repository.merged_ids([old for _, old, _, _ in parsed.merges])
    for number, old, survivor, merged_on in parsed.merges:
        if old in done:
            counts.unchanged += 1
            continue
        done.add(old)
        parsed.line_of.setdefault(old, number)
        counts.updated += 1
        if parsed.file.merged is Entity.AUTHORS:
            merged = await repository.merge_researcher(old, survivor, merged_on, notes)
            if merged is not None:
                _emit_merge(session, merged)  # always: follows move by deltas
        elif parsed.file.merged is Entity.WORKS:
            rewired = await repository.merge_work(old, survivor, merged_on)
            if events:
                _emit_rewired(session, rewired)
        else:
            await repository.record_merge(old, survivor, merged_on)


def _emit_merge(session: AsyncSession, merged: Merged) -> None:
    _emit_rewired(session, merged.rewired)
    for account, researcher in merged.follows_moved + merged.follows_dropped:
        emit(session, "follows.deleted", account_id=account, researcher_id=researcher)
    for account, _ in merged.follows_moved:
        emit(session, "follows.created", account_id=account, researcher_id=merged.survivor_id)
    emit(
        session,
        "researchers.merged",
        researcher_id=merged.survivor_id,
        old_researcher_id=merged.old_id,
    )
