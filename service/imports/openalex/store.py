"""All SQL of the OpenAlex import, a batch at a time, the same statements on PostgreSQL and
SQLite.

A full record (from its entity's own file) is applied when it is newer than what is stored
(``openalex_updated``); an entity only named in passing (a work's author, institution, venue or
topic) is stored when missing and never overwrites anything. Every statement takes a whole batch;
rows are written in key order, so that parallel imports lock in the same order.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    Float,
    Insert,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    cast,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery, column

from service.claims.models import Claim, ClaimStatus
from service.db.base import table_of, utcnow
from service.db.repository import is_postgresql
from service.follows.models import Follow
from service.imports.models import ImportedFile, ImportNote, OpenAlexMerge
from service.imports.openalex.records import (
    InstitutionRow,
    Note,
    ReportLine,
    ResearcherRow,
    TopicRow,
    VenueRow,
    WorkRow,
)
from service.institutions.models import Institution, InstitutionDomain
from service.researchers.models import Researcher
from service.researchers.names import fold_name
from service.topics.models import Topic, TopicLevel
from service.works.models import Authorship, AuthorshipInstitution, Venue, Work, WorkTopic

LATEST_AFFILIATIONS = """
SELECT DISTINCT ON (a.researcher_id) a.researcher_id, ai.institution_id
FROM authorships AS a
JOIN authorship_institutions AS ai ON ai.authorship_id = a.id
JOIN institutions AS i ON i.id = ai.institution_id
JOIN works AS w ON w.id = a.work_id
ORDER BY a.researcher_id, w.publication_date DESC NULLS LAST,
    w.publication_year DESC NULLS LAST, w.openalex_id DESC NULLS LAST, w.id DESC,
    i.openalex_id NULLS LAST, ai.institution_id
"""
"""``fill_affiliations``'s rule (the same order) for every researcher at once (PostgreSQL):
the institution of each one's latest authorship that names one."""
FILL_ALL_AFFILIATIONS = f"""
UPDATE researchers AS r SET affiliation_id = latest.institution_id, updated_at = now()
FROM ({LATEST_AFFILIATIONS}) AS latest
WHERE r.id = latest.researcher_id AND r.openalex_updated IS NULL
    AND r.affiliation_id IS DISTINCT FROM latest.institution_id
"""


def latest_affiliations() -> Subquery:
    """``LATEST_AFFILIATIONS`` as rows (researcher_id, institution_id), for the bulk derive to
    write in the rewrite of every researcher it makes anyway (``recount_everything``)."""
    columns = (column("researcher_id", BigInteger), column("institution_id", BigInteger))
    return text(LATEST_AFFILIATIONS).columns(*columns).subquery("latest")


IN_LIST_SIZE = 2_000
"""Keys per ``IN`` list."""
TOPIC_LEVELS = (
    TopicLevel.DOMAIN,
    TopicLevel.FIELD,
    TopicLevel.SUBFIELD,
    TopicLevel.TOPIC,
    TopicLevel.CONCEPT,
)
"""Parents before children."""

WORKS = table_of(Work)
AUTHORSHIPS = table_of(Authorship)
AUTHORSHIP_INSTITUTIONS = table_of(AuthorshipInstitution)
WORK_TOPICS = table_of(WorkTopic)
RESEARCHERS = table_of(Researcher)
INSTITUTIONS = table_of(Institution)
DOMAINS = table_of(InstitutionDomain)
VENUES = table_of(Venue)
TOPICS = table_of(Topic)


@dataclass
class Written:
    """What one batch of one kind did, by key."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass
class WrittenWorks(Written):
    new_ids: list[int] = field(default_factory=list)
    """Ids of the works inserted."""
    rewired: dict[int, list[int]] = field(default_factory=dict)
    """Works already stored whose authors or topics changed: work id -> authors before."""
    ids: dict[str, int] = field(default_factory=dict)
    """Every work of the batch (inserted, updated or unchanged) by key."""


@dataclass(frozen=True)
class Merged:
    """What one applied merge moved."""

    old_id: int
    survivor_id: int
    rewired: dict[int, list[int]]
    """Works whose author lists changed: work id -> authors before."""
    follows_moved: list[tuple[int, int]]
    """(account, from researcher) for each follow moved to the survivor."""
    follows_dropped: list[tuple[int, int]]
    """(account, from researcher) for follows dropped: the account followed both."""


class BatchRace(Exception):
    """Raised when a parallel import stored a row this batch was writing a moment before: the
    batch runs again, and finds it stored."""


@dataclass
class RefCache:
    """Ids of entities named in passing that one import process has already looked up or
    stored, by key: institutions, venues and topics are few and named by every batch, and a
    prolific author by many. Bounded: cleared when it grows past ``limit`` keys."""

    limit: int = 1_000_000
    tables: dict[str, dict[str, int]] = field(default_factory=dict)

    def known(self, table: Table, keys: Iterable[str]) -> tuple[dict[str, int], list[str]]:
        cached = self.tables.setdefault(table.name, {})
        found, missing = {}, []
        for key in keys:
            if (id_ := cached.get(key)) is not None:
                found[key] = id_
            else:
                missing.append(key)
        return found, missing

    def remember(self, table: Table, ids: Mapping[str, int]) -> None:
        cached = self.tables.setdefault(table.name, {})
        if len(cached) + len(ids) > self.limit:
            cached.clear()
        cached.update(ids)


class OpenAlexRepository:
    def __init__(self, session: AsyncSession, cache: RefCache | None = None) -> None:
        self.session = session
        self.postgresql = is_postgresql(session)
        self.cache = cache or RefCache()

    # -- entities named in passing ----------------------------------------------------------

    async def ensure_institutions(
        self, rows: Mapping[str, InstitutionRow], notes: list[Note]
    ) -> dict[str, int]:
        """Ids of these institutions, inserting the missing ones. One stored under another
        OpenAlex id with the same ROR id (an OpenAlex merge) is reused."""
        known, unknown = self.cache.known(INSTITUTIONS, rows)
        ids = known | await self._ids(INSTITUTIONS, unknown)
        missing = {k: r for k, r in rows.items() if k not in ids}
        by_ror = await self._ids(
            INSTITUTIONS, {r.ror_id: r for r in missing.values() if r.ror_id}, INSTITUTIONS.c.ror_id
        )
        for key, row in list(missing.items()):
            if row.ror_id and row.ror_id in by_ror:
                ids[key] = by_ror[row.ror_id]
                del missing[key]
        self._free_rors(missing.values(), notes)
        await self._insert_missing(INSTITUTIONS, [_institution_values(r) for r in missing.values()])
        ids |= await self._ids(INSTITUTIONS, missing)
        self.cache.remember(INSTITUTIONS, ids)
        return ids

    async def ensure_venues(self, rows: Mapping[str, VenueRow]) -> dict[str, int]:
        known, unknown = self.cache.known(VENUES, rows)
        ids = known | await self._ids(VENUES, unknown)
        missing = [_venue_values(r) for k, r in rows.items() if k not in ids]
        await self._insert_missing(VENUES, missing)
        ids |= await self._ids(VENUES, {v["openalex_id"]: v for v in missing})
        self.cache.remember(VENUES, ids)
        return ids

    async def ensure_topics(self, rows: Mapping[str, TopicRow]) -> dict[str, int]:
        known, unknown = self.cache.known(TOPICS, rows)
        ids = known | await self._ids(TOPICS, unknown)
        for level in TOPIC_LEVELS:
            missing = {k: r for k, r in rows.items() if r.level is level and k not in ids}
            await self._insert_missing(
                TOPICS, [_topic_values(r, ids.get(r.parent or "")) for r in missing.values()]
            )
            ids |= await self._ids(TOPICS, missing)
        self.cache.remember(TOPICS, ids)
        return ids

    async def ensure_researchers(
        self, rows: Mapping[str, ResearcherRow], notes: list[Note]
    ) -> dict[str, int]:
        known, unknown = self.cache.known(RESEARCHERS, rows)
        ids = known | await self._ids(RESEARCHERS, unknown)
        missing = {k: r for k, r in rows.items() if k not in ids}
        await self._free_orcids(missing, notes)
        # Without an affiliation: an institution id would be a foreign-key check per row
        # on a few hot institution rows, which parallel imports lock against each other
        # (8 s more on 100k works); the affiliation rule fills it after the batch or run.
        await self._insert_missing(
            RESEARCHERS, [_researcher_values(r, None) for r in missing.values()]
        )
        ids |= await self._ids(RESEARCHERS, missing)
        self.cache.remember(RESEARCHERS, ids)
        return ids

    # -- full records -----------------------------------------------------------------------

    async def upsert_institutions(self, rows: Mapping[str, InstitutionRow]) -> Written:
        written = Written()
        plan = await self._plan(INSTITUTIONS, rows, written)
        fresh = {k: rows[k] for k in plan}
        self._free_rors(fresh.values(), written.notes, keys=plan)
        await self._free_stored_rors(fresh, written.notes)
        ids = await self._write(
            INSTITUTIONS, plan, [_institution_values(r, True) for r in fresh.values()]
        )
        await self.session.execute(
            delete(InstitutionDomain).where(InstitutionDomain.institution_id.in_(ids.values()))
        )
        domains = sorted({(ids[k], d) for k, r in fresh.items() for d in r.domains})
        await self._insert_missing(
            DOMAINS, [{"institution_id": i, "domain": d} for i, d in domains]
        )
        return written

    async def upsert_venues(self, rows: Mapping[str, VenueRow]) -> Written:
        written = Written()
        plan = await self._plan(VENUES, rows, written)
        await self._write(VENUES, plan, [_venue_values(rows[k], True) for k in plan])
        return written

    async def upsert_topics(
        self, rows: Mapping[str, TopicRow], parents: Mapping[str, int]
    ) -> Written:
        written = Written()
        plan = await self._plan(TOPICS, rows, written)
        await self._write(
            TOPICS,
            plan,
            [_topic_values(rows[k], parents.get(rows[k].parent or ""), True) for k in plan],
        )
        return written

    async def upsert_researchers(
        self, rows: Mapping[str, ResearcherRow], institutions: Mapping[str, int]
    ) -> Written:
        written = Written()
        plan = await self._plan(RESEARCHERS, rows, written)
        fresh = {k: rows[k] for k in plan}
        await self._free_orcids(fresh, written.notes)
        await self._write(
            RESEARCHERS,
            plan,
            [
                _researcher_values(r, institutions.get(r.affiliation or ""), full=True)
                for r in fresh.values()
            ],
        )
        return written

    async def _plan(
        self, table: Table, rows: Mapping[str, Any], written: Written
    ) -> dict[str, int | None]:
        """Which records to write: key -> stored id (None: new). A stored row as new or newer
        than the record is unchanged."""
        stored: dict[str, tuple[int, dt.datetime | None]] = {}
        for batch in _chunks(sorted(rows)):
            stmt = select(table.c.openalex_id, table.c.id, table.c.openalex_updated).where(
                table.c.openalex_id.in_(batch)
            )
            stored.update((k, (i, u)) for k, i, u in await self.session.execute(stmt))
        plan: dict[str, int | None] = {}
        for key in sorted(rows):
            if key not in stored:
                plan[key] = None
                written.inserted.append(key)
            elif (updated := rows[key].updated) is not None and (
                (before := stored[key][1]) is None or before < updated
            ):
                plan[key] = stored[key][0]
                written.updated.append(key)
            else:
                written.unchanged.append(key)
        return plan

    async def _write(
        self, table: Table, plan: Mapping[str, int | None], values: Sequence[dict[str, Any]]
    ) -> dict[str, int]:
        """Insert the planned new rows and update the stored ones; returns every id by key."""
        new = [v for v in values if plan[v["openalex_id"]] is None]
        old = [v | {"row_id": plan[v["openalex_id"]]} for v in values if plan[v["openalex_id"]]]
        await self._insert_missing(table, new)
        if old:
            columns = [c for c in old[0] if c not in ("row_id", "openalex_id")]
            stmt = (
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({c: bindparam(c) for c in columns} | {"updated_at": utcnow()})
            )
            await self.session.execute(stmt, _fit(table, old))
        return await self._ids(table, plan)

    # -- works ------------------------------------------------------------------------------

    async def write_works(
        self,
        works: Sequence[WorkRow],
        researchers: Mapping[str, int],
        institutions: Mapping[str, int],
        venues: Mapping[str, int],
        topics: Mapping[str, int],
    ) -> WrittenWorks:
        written = WrittenWorks()
        rows = {w.key: w for w in works}
        plan = await self._plan(WORKS, rows, written)
        new = [rows[k] for k, stored in plan.items() if stored is None]
        if self.postgresql and new:
            # New works and their rows by binary COPY with ids taken from the sequences
            # beforehand: no statement to build per row, no ids to read back.
            ids = await self._copy_new_works(new, researchers, institutions, venues, topics)
            stored = {k: s for k, s in plan.items() if s is not None}
            values = [_work_values(rows[k], venues.get(rows[k].venue or "")) for k in stored]
            ids |= await self._write(WORKS, stored, values)
        else:
            values = [_work_values(rows[k], venues.get(rows[k].venue or "")) for k in plan]
            ids = await self._write(WORKS, plan, values)
            await self._add_children(new, ids, researchers, institutions, topics)
        written.ids = ids | await self._ids(WORKS, written.unchanged)
        written.new_ids = [ids[w.key] for w in new]
        changed = [rows[k] for k, stored in plan.items() if stored is not None]
        written.rewired = await self._rewire(changed, ids, researchers, institutions, topics)
        return written

    async def _copy_new_works(
        self,
        works: Sequence[WorkRow],
        researchers: Mapping[str, int],
        institutions: Mapping[str, int],
        venues: Mapping[str, int],
        topics: Mapping[str, int],
    ) -> dict[str, int]:
        """PostgreSQL: insert these new works, their authorships, authorship institutions
        and topics by binary COPY. Raises BatchRace when a parallel import stored one of the
        works first."""
        new_ids = await self._next_ids(WORKS, len(works))
        work_ids = dict(zip((w.key for w in works), new_ids, strict=True))
        authorships = _authorship_rows(works, work_ids, researchers)
        authorship_ids = await self._next_ids(AUTHORSHIPS, len(authorships))
        work_rows = _fit(
            WORKS,
            [_work_values(w, venues.get(w.venue or "")) | {"id": work_ids[w.key]} for w in works],
        )
        await self._copy(WORKS, work_rows)
        await self._copy(
            AUTHORSHIPS,
            [row | {"id": i} for row, i in zip(authorships, authorship_ids, strict=True)],
        )
        by_author = {
            (row["work_id"], row["researcher_id"]): i
            for row, i in zip(authorships, authorship_ids, strict=True)
        }
        await self._copy(
            AUTHORSHIP_INSTITUTIONS,
            _authorship_institution_rows(works, work_ids, researchers, institutions, by_author),
        )
        await self._copy(WORK_TOPICS, _work_topic_rows(works, work_ids, topics))
        return work_ids

    async def _next_ids(self, table: Table, count: int) -> list[int]:
        """``count`` ids from the table's sequence, for rows about to be copied in."""
        if not count:
            return []
        # The sequence looked up once (per row it was nine tenths of the statement's time).
        stmt = text(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(:table, 'id')::regclass AS seq)"
            " SELECT nextval(s.seq) FROM s, generate_series(1, :n)"
        )
        return list(await self.session.scalars(stmt, {"table": table.name, "n": count}))

    async def _copy(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Rows (all with the same keys) into ``table`` by binary COPY (PostgreSQL)."""
        if not rows:
            return
        columns = list(rows[0])
        values = operator.itemgetter(*columns)  # C-speed: about a million rows a run
        records: list[tuple[Any, ...]] = [values(row) for row in rows]
        if len(columns) == 1:
            records = [(value,) for value in records]
        enums = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, Enum)]
        if enums:
            records = [
                tuple(_plain(v) if i in enums else v for i, v in enumerate(record))
                for record in records
            ]
        connection = await self.session.connection()
        driver: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg
        try:
            await driver.copy_records_to_table(table.name, records=records, columns=columns)
        except asyncpg.UniqueViolationError as race:
            raise BatchRace(str(race)) from race

    async def _add_children(
        self,
        works: Sequence[WorkRow],
        work_ids: Mapping[str, int],
        researchers: Mapping[str, int],
        institutions: Mapping[str, int],
        topics: Mapping[str, int],
    ) -> None:
        if not works:
            return
        await self._insert_missing(AUTHORSHIPS, _authorship_rows(works, work_ids, researchers))
        by_author = await self._authorship_ids([work_ids[w.key] for w in works])
        await self._insert_missing(
            AUTHORSHIP_INSTITUTIONS,
            _authorship_institution_rows(works, work_ids, researchers, institutions, by_author),
        )
        await self._insert_missing(WORK_TOPICS, _work_topic_rows(works, work_ids, topics))

    async def _rewire(
        self,
        works: Sequence[WorkRow],
        work_ids: Mapping[str, int],
        researchers: Mapping[str, int],
        institutions: Mapping[str, int],
        topics: Mapping[str, int],
    ) -> dict[int, list[int]]:
        """Replace the authorships and topics of stored works whose record changed them;
        returns those works with their authors before."""
        if not works:
            return {}
        ids = [work_ids[w.key] for w in works]
        stored_authors = await self._author_lists(ids)
        stored_topics: dict[int, dict[int, float]] = {}
        for batch in _chunks(ids):
            stmt = select(WorkTopic.work_id, WorkTopic.topic_id, WorkTopic.score).where(
                WorkTopic.work_id.in_(batch)
            )
            for work_id, topic_id, score in await self.session.execute(stmt):
                stored_topics.setdefault(work_id, {})[topic_id] = score
        changed: list[WorkRow] = []
        before: dict[int, list[int]] = {}
        for work in works:
            work_id = work_ids[work.key]
            authors = [
                (
                    a.position,
                    researchers[a.author],
                    tuple(sorted(institutions[i] for i in a.institutions)),
                )
                for a in work.authorships
            ]
            tagged = {topics[k]: s for k, s in work.topics.items()}
            if authors != stored_authors.get(work_id, []) or set(tagged) != set(
                stored_topics.get(work_id, {})
            ):
                changed.append(work)
                before[work_id] = [r for _, r, _ in stored_authors.get(work_id, [])]
        if changed:
            gone = [work_ids[w.key] for w in changed]
            await self._delete_children(gone)
            await self._add_children(changed, work_ids, researchers, institutions, topics)
        return before

    async def _delete_children(self, work_ids: Sequence[int]) -> None:
        """The authorships (with their institutions) and topics of these works: no foreign
        key cascades them (migration 0007)."""
        await self._delete_authorships(Authorship.work_id.in_(work_ids))
        await self.session.execute(delete(WorkTopic).where(WorkTopic.work_id.in_(work_ids)))

    async def _delete_authorships(self, where: ColumnElement[bool]) -> None:
        doomed = select(Authorship.id).where(where)
        await self.session.execute(
            delete(AuthorshipInstitution).where(AuthorshipInstitution.authorship_id.in_(doomed))
        )
        await self.session.execute(delete(Authorship).where(where))

    async def _author_lists(
        self, work_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, int, tuple[int, ...]]]]:
        """Each work's (position, researcher, institutions) in list order."""
        places: dict[tuple[int, int], int] = {}
        named: dict[tuple[int, int], list[int]] = {}
        for batch in _chunks(work_ids):
            stmt = (
                select(
                    Authorship.work_id,
                    Authorship.position,
                    Authorship.researcher_id,
                    AuthorshipInstitution.institution_id,
                )
                .outerjoin(
                    AuthorshipInstitution, AuthorshipInstitution.authorship_id == Authorship.id
                )
                .where(Authorship.work_id.in_(batch))
            )
            for work_id, position, researcher, institution in await self.session.execute(stmt):
                places[(work_id, researcher)] = position
                if institution is not None:
                    named.setdefault((work_id, researcher), []).append(institution)
        lists: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
        for (work_id, researcher), position in places.items():
            institutions = tuple(sorted(named.get((work_id, researcher), [])))
            lists.setdefault(work_id, []).append((position, researcher, institutions))
        return {work_id: sorted(entries) for work_id, entries in lists.items()}

    async def _authorship_ids(self, work_ids: Sequence[int]) -> dict[tuple[int, int], int]:
        found: dict[tuple[int, int], int] = {}
        for batch in _chunks(work_ids):
            stmt = select(Authorship.work_id, Authorship.researcher_id, Authorship.id).where(
                Authorship.work_id.in_(batch)
            )
            found.update(((w, r), i) for w, r, i in await self.session.execute(stmt))
        return found

    async def fill_affiliations(self, researcher_ids: Collection[int]) -> None:
        """Researchers known only from works (no author record imported): the affiliation is
        an institution of their most recent authorship that names one."""
        for batch in _chunks(sorted(researcher_ids)):
            ranked = (
                select(
                    Authorship.researcher_id,
                    AuthorshipInstitution.institution_id,
                    func.row_number()
                    .over(
                        partition_by=Authorship.researcher_id,
                        order_by=(
                            Work.publication_date.desc().nulls_last(),
                            Work.publication_year.desc().nulls_last(),
                            Work.openalex_id.desc().nulls_last(),
                            Work.id.desc(),
                            Institution.openalex_id.nulls_last(),
                            AuthorshipInstitution.institution_id,
                        ),
                    )
                    .label("rank"),
                )
                .join(AuthorshipInstitution, AuthorshipInstitution.authorship_id == Authorship.id)
                .join(Institution, Institution.id == AuthorshipInstitution.institution_id)
                .join(Work, Work.id == Authorship.work_id)
                .where(Authorship.researcher_id.in_(batch))
                .subquery()
            )
            # Read, then write by primary key: one UPDATE ... FROM this ranking let PostgreSQL
            # plan a nested loop over every researcher when its statistics were stale.
            latest = (
                await self.session.execute(
                    select(ranked.c.researcher_id, ranked.c.institution_id).where(
                        ranked.c.rank == 1
                    )
                )
            ).all()
            if latest:
                await self.session.execute(
                    update(RESEARCHERS)
                    .where(
                        RESEARCHERS.c.id == bindparam("researcher"),
                        RESEARCHERS.c.openalex_updated.is_(None),
                    )
                    .values(affiliation_id=bindparam("institution")),
                    [{"researcher": r, "institution": i} for r, i in latest],
                )

    async def fill_all_affiliations(self) -> None:
        """``fill_affiliations`` for every researcher known only from works, in one statement
        (PostgreSQL; after ANALYZE, since a bulk import just filled the tables)."""
        await self.session.execute(
            text("ANALYZE authorships, authorship_institutions, works, researchers")
        )
        await self.session.execute(text(FILL_ALL_AFFILIATIONS))

    async def researchers_without_record(self, after: int, limit: int) -> list[int]:
        """Ids of researchers known only from works, in id order, from ``after`` on."""
        stmt = (
            select(Researcher.id)
            .where(Researcher.id > after, Researcher.openalex_updated.is_(None))
            .order_by(Researcher.id)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    # -- merges -----------------------------------------------------------------------------

    async def merged_ids(self, old_ids: Collection[str]) -> set[str]:
        """Which of these old ids are already merged."""
        found: set[str] = set()
        for batch in _chunks(sorted(old_ids)):
            stmt = select(OpenAlexMerge.old_id).where(OpenAlexMerge.old_id.in_(batch))
            found.update(await self.session.scalars(stmt))
        return found

    async def merge_researcher(
        self, old_key: str, survivor_key: str, merged_on: dt.date | None, notes: list[Note]
    ) -> Merged | None:
        """Move an author record's authorships, follows and claims to its survivor, and keep
        the old row as a pointer to it. Returns what moved (None when there was nothing to
        move: the old record is not stored, or the survivor is not, in which case the old row
        takes the survivor's id)."""
        ids = await self._ids(RESEARCHERS, dict.fromkeys([old_key, survivor_key]))
        old, survivor = ids.get(old_key), ids.get(survivor_key)
        record = {"old_id": old_key, "survivor_id": survivor_key, "merged_on": merged_on}
        if old is None or survivor is None:
            if old is not None:  # only the old one: it becomes the survivor
                await self.session.execute(
                    update(Researcher).where(Researcher.id == old).values(openalex_id=survivor_key)
                )
            await self._record_merge(record)
            return None
        works = list(
            await self.session.scalars(
                select(Authorship.work_id).where(Authorship.researcher_id == old)
            )
        )
        lists = await self._author_lists(works)
        before = {w: [r for _, r, _ in lists.get(w, [])] for w in works}
        both = [w for w in works if survivor in before[w]]
        if both:  # listed twice on a work: the survivor's authorship stays
            await self._delete_authorships(
                (Authorship.researcher_id == old) & Authorship.work_id.in_(both)
            )
            notes.append(
                Note(
                    old_key,
                    f"listed beside {survivor_key} on {len(both)} work(s): "
                    "those authorships of the old record dropped",
                    skipped=False,
                )
            )
        await self.session.execute(
            update(Authorship).where(Authorship.researcher_id == old).values(researcher_id=survivor)
        )
        follows = list(
            await self.session.execute(select(Follow.account_id).where(Follow.researcher_id == old))
        )
        already = set(
            await self.session.scalars(
                select(Follow.account_id).where(
                    Follow.researcher_id == survivor,
                    Follow.account_id.in_([a for (a,) in follows]),
                )
            )
        )
        moved = [(a, old) for (a,) in follows if a not in already]
        dropped = [(a, old) for (a,) in follows if a in already]
        await self.session.execute(
            delete(Follow).where(Follow.researcher_id == old, Follow.account_id.in_(already))
        )
        await self.session.execute(
            update(Follow).where(Follow.researcher_id == old).values(researcher_id=survivor)
        )
        claims = await self._move_claims(old, survivor, old_key, notes)
        await self.session.execute(
            update(Researcher)
            .where(Researcher.id == old)
            .values(merged_into_id=survivor, orcid=None)
        )
        await self._record_merge(
            record
            | {
                "moved_authorships": len(works) - len(both),
                "moved_follows": len(moved),
                "moved_claims": claims,
            }
        )
        return Merged(old, survivor, before, moved, dropped)

    async def _move_claims(self, old: int, survivor: int, old_key: str, notes: list[Note]) -> int:
        """Claims follow the record, except a verified one where the survivor has its own:
        that one is rejected (a record has one verified claimant)."""
        survivor_verified = await self.session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.researcher_id == survivor, Claim.status == ClaimStatus.VERIFIED)
        )
        if survivor_verified:
            rejected = await self.session.execute(
                update(Claim)
                .where(Claim.researcher_id == old, Claim.status == ClaimStatus.VERIFIED)
                .values(status=ClaimStatus.REJECTED)
            )
            if getattr(rejected, "rowcount", 0):
                notes.append(Note(old_key, "its verified claim rejected: the survivor has its own"))
        result = await self.session.execute(
            update(Claim).where(Claim.researcher_id == old).values(researcher_id=survivor)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def merge_work(
        self, old_key: str, survivor_key: str, merged_on: dt.date | None
    ) -> dict[int, list[int]]:
        """A merged work: gone when its survivor is stored (returns it with its authors before,
        so that the graph follows), else it takes the survivor's id."""
        ids = await self._ids(WORKS, dict.fromkeys([old_key, survivor_key]))
        old, survivor = ids.get(old_key), ids.get(survivor_key)
        await self._record_merge(
            {"old_id": old_key, "survivor_id": survivor_key, "merged_on": merged_on}
        )
        if old is None:
            return {}
        if survivor is None:
            await self.session.execute(
                update(Work).where(Work.id == old).values(openalex_id=survivor_key)
            )
            return {}
        lists = await self._author_lists([old])
        await self._delete_children([old])
        await self.session.execute(delete(Work).where(Work.id == old))
        return {old: [r for _, r, _ in lists.get(old, [])]}

    async def record_merge(
        self, old_key: str, survivor_key: str, merged_on: dt.date | None
    ) -> None:
        """Entities whose references do not move (institutions, sources, topics): the old id
        answers with the survivor."""
        await self._record_merge(
            {"old_id": old_key, "survivor_id": survivor_key, "merged_on": merged_on}
        )

    async def _record_merge(self, values: dict[str, Any]) -> None:
        await self._insert_missing(
            table_of(OpenAlexMerge),
            [
                {"moved_authorships": 0, "moved_follows": 0, "moved_claims": 0}
                | values
                | {"applied_at": utcnow()}
            ],
        )

    # -- progress ---------------------------------------------------------------------------

    async def progress(self, path: str) -> ImportedFile | None:
        return await self.session.scalar(select(ImportedFile).where(ImportedFile.path == path))

    async def start_file(self, path: str, entity: str, size: int, mtime_ns: int) -> int:
        """Lines already done of this file: where a stopped run left it; 0 for a new file, a
        replaced one or one a run finished (importing it again reads it all again)."""
        stored = await self.progress(path)
        if stored is not None and (stored.size, stored.mtime_ns) == (size, mtime_ns):
            if stored.finished_at is not None:  # read it all again, counted afresh
                stored.lines_done = stored.read = stored.inserted = stored.updated = 0
                stored.unchanged = stored.skipped = 0
                await self.session.execute(delete(ImportNote).where(ImportNote.path == path))
            stored.finished_at, stored.error = None, None
            await self.session.flush()
            return stored.lines_done
        if stored is not None:  # replaced by another file of that name
            await self.session.delete(stored)
            await self.session.execute(delete(ImportNote).where(ImportNote.path == path))
            await self.session.flush()
        self.session.add(
            ImportedFile(
                path=path,
                entity=entity,
                size=size,
                mtime_ns=mtime_ns,
                lines_done=0,
                read=0,
                inserted=0,
                updated=0,
                unchanged=0,
                skipped=0,
                started_at=utcnow(),
            )
        )
        await self.session.flush()
        return 0

    async def advance(
        self,
        path: str,
        lines_done: int,
        *,
        counts: Mapping[str, int] | None = None,
        finished: bool = False,
        error: str | None = None,
        derive_pending: bool = False,
    ) -> None:
        """Where the file got to, in the transaction that wrote those lines: what its records
        did (``counts``: read, inserted, updated, unchanged, skipped), finished, stopped by
        ``error``, and whether what it wrote still has to be derived in bulk."""
        table = table_of(ImportedFile)
        values: dict[str, Any] = {"lines_done": lines_done}
        for name, count in (counts or {}).items():
            values[name] = table.c[name] + count
        if finished:
            values["finished_at"] = utcnow()
        if error is not None:
            values["error"] = error
        if derive_pending:
            values["derive_pending"] = True
        await self.session.execute(update(table).where(table.c.path == path).values(**values))

    async def add_notes(self, lines: Sequence[ReportLine]) -> None:
        """A batch's report lines, in its transaction."""
        await self._insert_missing(
            table_of(ImportNote),
            [
                {
                    "path": line.file,
                    "line": line.line,
                    "entity_id": line.entity_id[:64],
                    "skipped": line.skipped,
                    "reason": line.reason,
                }
                for line in lines
            ],
        )

    async def notes(self, paths: Sequence[str]) -> list[ReportLine]:
        """The report lines of these files, file by file in this order, then by line."""
        order = {path: number for number, path in enumerate(paths)}
        found: list[ReportLine] = []
        for batch in _chunks(list(paths)):
            stmt = select(
                ImportNote.path,
                ImportNote.line,
                ImportNote.entity_id,
                ImportNote.reason,
                ImportNote.skipped,
                ImportNote.id,
            ).where(ImportNote.path.in_(batch))
            found.extend(
                ReportLine(p, line, entity, reason, skipped)
                for p, line, entity, reason, skipped, _ in sorted(
                    await self.session.execute(stmt), key=lambda r: (order[r[0]], r[1], r[5])
                )
            )
        return sorted(found, key=lambda r: order[r.file])

    async def record_failure(self, path: str, error: str) -> None:
        await self.session.execute(
            update(ImportedFile).where(ImportedFile.path == path).values(error=error)
        )

    async def files(self, paths: Collection[str]) -> dict[str, ImportedFile]:
        """The progress rows of these files, by path."""
        stmt = select(ImportedFile).where(ImportedFile.path.in_(list(paths)))
        return {f.path: f for f in await self.session.scalars(stmt)}

    async def derive_pending(self) -> bool:
        stmt = select(ImportedFile.id).where(ImportedFile.derive_pending.is_(True)).limit(1)
        return (await self.session.scalar(stmt)) is not None

    async def clear_derive_pending(self) -> int:
        result = await self.session.execute(
            update(ImportedFile)
            .where(ImportedFile.derive_pending.is_(True))
            .values(derive_pending=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- helpers ----------------------------------------------------------------------------

    async def _ids(
        self,
        table: Table,
        keys: Mapping[str, Any] | Iterable[str],
        column: Column[Any] | None = None,
    ) -> dict[str, int]:
        column = table.c.openalex_id if column is None else column
        values = sorted(keys)
        if not values:
            return {}
        found: dict[str, int] = {}
        if self.postgresql:
            # One array parameter: the statement's text stays the same, so it compiles once
            # (rendering IN lists of 2,000 keys was a fifth of the import's Python time).
            stmt = select(column, table.c.id).where(
                column == any_(bindparam("keys", type_=postgresql.ARRAY(String)))
            )
            found.update((k, i) for k, i in await self.session.execute(stmt, {"keys": values}))
            return found
        for batch in _chunks(values):
            stmt = select(column, table.c.id).where(column.in_(batch))
            found.update((k, i) for k, i in await self.session.execute(stmt))
        return found

    async def _insert_missing(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """One statement that skips rows clashing with a stored one (a parallel import may
        have stored it a moment ago)."""
        if not rows:
            return
        if "openalex_id" in rows[0]:
            # In key order, as every importing process does: two batches storing the same
            # new authors then wait for each other in one order and never deadlock.
            rows = sorted(rows, key=operator.itemgetter("openalex_id"))
        rows = _fit(table, rows)
        columns = list(rows[0])
        if self.postgresql and all(_arrayable(table.c[c]) for c in columns):
            # One INSERT ... SELECT FROM unnest(one array per column): an executemany runs
            # the statement, and the table's statement triggers, once per row (the new
            # researchers of a batch of works, about 1,500, took a quarter of a one-process
            # import's database time).
            values = {c: [_plain(row[c]) for row in rows] for c in columns}
            await self.session.execute(_unnest_insert(table, columns), values)
            return
        dialect_insert = postgresql.insert if self.postgresql else sqlite.insert
        await self.session.execute(dialect_insert(table).on_conflict_do_nothing(), rows)

    def _free_rors(
        self,
        rows: Iterable[InstitutionRow],
        notes: list[Note],
        keys: Collection[str] | None = None,
    ) -> None:
        """Two new rows with one ROR id: the second goes without."""
        seen: dict[str, str] = {}
        for row in rows:
            if not row.ror_id or (keys is not None and row.key not in keys):
                continue
            if row.ror_id in seen and seen[row.ror_id] != row.key:
                notes.append(
                    Note(
                        row.key,
                        f"ROR id {row.ror_id} is also {seen[row.ror_id]}'s; stored without it",
                        skipped=False,
                    )
                )
                row.ror_id = None
            else:
                seen[row.ror_id] = row.key

    async def _free_stored_rors(
        self, rows: Mapping[str, InstitutionRow], notes: list[Note]
    ) -> None:
        held = await self._ids(
            INSTITUTIONS, {r.ror_id: r for r in rows.values() if r.ror_id}, INSTITUTIONS.c.ror_id
        )
        own = await self._ids(INSTITUTIONS, rows)
        for key, row in rows.items():
            if row.ror_id and row.ror_id in held and held[row.ror_id] != own.get(key):
                notes.append(
                    Note(
                        key,
                        f"ROR id {row.ror_id} belongs to another stored institution; "
                        "stored without it",
                        skipped=False,
                    )
                )
                row.ror_id = None

    async def _free_orcids(self, rows: Mapping[str, ResearcherRow], notes: list[Note]) -> None:
        """An ORCID iD already held by another researcher (or by an earlier row of the batch)
        is left off."""
        held = await self._ids(
            RESEARCHERS, {r.orcid: r for r in rows.values() if r.orcid}, RESEARCHERS.c.orcid
        )
        own = await self._ids(RESEARCHERS, rows)
        seen: dict[str, str] = {}
        for key in sorted(rows):
            row = rows[key]
            if row.orcid is None:
                continue
            other = held.get(row.orcid)
            if (other is not None and other != own.get(key)) or seen.setdefault(
                row.orcid, key
            ) != key:
                notes.append(
                    Note(
                        key,
                        f"ORCID {row.orcid} already belongs to another researcher; "
                        "stored without it",
                        skipped=False,
                    )
                )
                row.orcid = None


def _institution_values(row: InstitutionRow, full: bool = False) -> dict[str, Any]:
    values = {
        "openalex_id": row.key,
        "display_name": row.display_name,
        "search_name": fold_name(row.display_name),
        "ror_id": row.ror_id,
        "country_code": row.country_code,
        "type": row.type,
        "homepage_url": row.homepage_url,
    }
    return values | {"openalex_updated": row.updated} if full else values


def _venue_values(row: VenueRow, full: bool = False) -> dict[str, Any]:
    values = {
        "openalex_id": row.key,
        "display_name": row.display_name,
        "search_name": fold_name(row.display_name),
        "type": row.type,
        "issn_l": row.issn_l,
    }
    return values | {"openalex_updated": row.updated} if full else values


def _topic_values(row: TopicRow, parent_id: int | None, full: bool = False) -> dict[str, Any]:
    values = {
        "openalex_id": row.key,
        "display_name": row.display_name,
        "search_name": fold_name(row.display_name),
        "level": row.level,
        "parent_id": parent_id,
    }
    return values | {"openalex_updated": row.updated} if full else values


def _researcher_values(
    row: ResearcherRow, affiliation_id: int | None, full: bool = False
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "openalex_id": row.key,
        "display_name": row.display_name,
        "search_name": row.search_name,
        "orcid": row.orcid,
    }
    if full:
        values |= {
            "alternative_names": row.alternative_names,
            "affiliation_id": affiliation_id,
            "openalex_updated": row.updated,
        }
    return values


def _work_values(row: WorkRow, venue_id: int | None) -> dict[str, Any]:
    return {
        "openalex_id": row.key,
        "title": row.title,
        "abstract": row.abstract,
        "type": row.type,
        "publication_year": row.publication_year,
        "publication_date": row.publication_date,
        "doi": row.doi,
        "arxiv_id": row.arxiv_id,
        "pmid": row.pmid,
        "cited_by_count": row.cited_by_count,
        "venue_id": venue_id,
        "openalex_updated": row.updated,
    }


def _authorship_rows(
    works: Sequence[WorkRow], work_ids: Mapping[str, int], researchers: Mapping[str, int]
) -> list[dict[str, Any]]:
    return _fit(
        AUTHORSHIPS,
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
    )


def _authorship_institution_rows(
    works: Sequence[WorkRow],
    work_ids: Mapping[str, int],
    researchers: Mapping[str, int],
    institutions: Mapping[str, int],
    authorship_ids: Mapping[tuple[int, int], int],
) -> list[dict[str, Any]]:
    """``authorship_ids``: by (work id, researcher id)."""
    return [
        {
            "authorship_id": authorship_ids[work_ids[w.key], researchers[a.author]],
            "institution_id": institutions[key],
        }
        for w in works
        for a in w.authorships
        for key in a.institutions
    ]


def _work_topic_rows(
    works: Sequence[WorkRow], work_ids: Mapping[str, int], topics: Mapping[str, int]
) -> list[dict[str, Any]]:
    return [
        {"work_id": work_ids[w.key], "topic_id": topics[key], "score": score}
        for w in works
        for key, score in w.topics.items()
    ]


ARRAYABLE = (String, Integer, BigInteger, Float, Boolean, Date, DateTime)
"""Column types whose values travel as one PostgreSQL array per column (``_unnest_insert``);
an enum travels as text and is cast back."""


def _arrayable(column: Column[Any]) -> bool:
    return isinstance(column.type, ARRAYABLE)


def _unnest_insert(table: Table, columns: Sequence[str]) -> Insert:
    """``INSERT INTO table (columns) SELECT * FROM unnest(:column, ...) ON CONFLICT DO
    NOTHING``, one array parameter per column (named as the column); the columns' Python-side
    defaults are rendered in (``include_defaults``)."""
    arrays = []
    for name in columns:
        kind = table.c[name].type
        element = String() if isinstance(kind, Enum) else kind
        arrays.append(bindparam(name, type_=postgresql.ARRAY(element)))
    source = func.unnest(*arrays).table_valued(*columns).render_derived()
    picked = [
        cast(source.c[name], table.c[name].type)
        if isinstance(table.c[name].type, Enum)
        else source.c[name]
        for name in columns
    ]
    insert = postgresql.insert(table).from_select(list(columns), select(*picked))
    return insert.on_conflict_do_nothing()


def _plain(value: Any) -> Any:
    """A value as the COPY protocol takes it (our enums are stored as their names)."""
    return value.value if isinstance(value, enum.Enum) else value


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


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start : start + IN_LIST_SIZE]
