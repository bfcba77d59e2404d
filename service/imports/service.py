"""What integrators write through the API: ``importWorks`` (OpenAlex work records, mapped and
written by the OpenAlex importer's batch code, with a result per record) and ``addWork`` (one
work from plain fields, its authors matched by OpenAlex author id or ORCID iD). Never commits;
each change emits its event (``works.added``, ``works.changed``) in the caller's transaction, so
the workers move counts, co-author edges, clusters and trust once it commits."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import BadUserInput, Conflict, NotFound
from service.events.service import emit
from service.imports.openalex.batches import parse, write
from service.imports.openalex.inputs import Entity, InputFile
from service.imports.openalex.records import DOI_PREFIXES, ReportLine, short_id
from service.imports.repository import IntegratorRepository
from service.logging import log
from service.researchers.models import Researcher
from service.researchers.names import fold_name
from service.researchers.repository import ResearcherRepository
from service.researchers.service import normalize_openalex_author_id, normalize_orcid
from service.topics.models import Topic
from service.works.models import Authorship, Venue, Work, WorkTopic, WorkType

IMPORT_SCOPE = "import"
"""The API key scope the integrator mutations need."""
SOURCE = InputFile(Path("importWorks"), Entity.WORKS)
"""What the importer's report lines name as the file: a record's line is its index."""
REPEATED = re.compile(r"\(first at line (\d+)\)")
MAX_NAME_LENGTH = 500
"""Researcher, venue and raw author names (their columns' length)."""
MAX_OPENALEX_ID_LENGTH = 32
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
ARXIV_DOI = "10.48550/arxiv."
ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[a-z]{2})?/\d{7})$", re.IGNORECASE)
ARXIV_PREFIXES = ("https://arxiv.org/abs/", "http://arxiv.org/abs/", "arxiv:")
ISSN_L = re.compile(r"^\d{4}-\d{3}[\dX]$")


class ImportStatus(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    """Stored before, and this record is newer (``updated_date``): applied."""
    UNCHANGED = "UNCHANGED"
    """Stored before from a record as new as this one: nothing written."""
    REJECTED = "REJECTED"
    """Not imported (not an object, no OpenAlex work id, no title, repeated in the call)."""


@dataclass(frozen=True)
class ImportNote:
    """An item of a record left out or repaired (an authorship without an author id)."""

    subject: str
    """The OpenAlex id the note is about (the work, or an author or institution it names)."""
    reason: str
    repaired: bool
    """True: kept, changed to fit; False: left out."""


@dataclass
class RecordResult:
    index: int
    status: ImportStatus
    openalex_id: str | None = None
    reason: str | None = None
    notes: list[ImportNote] = field(default_factory=list)
    work: Work | None = None


@dataclass
class ImportResult:
    results: list[RecordResult]

    def count(self, status: ImportStatus) -> int:
        return sum(1 for r in self.results if r.status is status)


@dataclass(frozen=True)
class AuthorRef:
    """An author of ``addWork``: an OpenAlex author id or an ORCID iD (or both); a name creates
    the researcher when neither is known."""

    openalex_id: str | None = None
    orcid: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class VenueRef:
    display_name: str
    openalex_id: str | None = None
    issn_l: str | None = None


@dataclass(frozen=True)
class TopicRef:
    topic_id: int | None = None
    """Our id of a stored topic."""
    openalex_id: str | None = None
    score: float = 1.0


@dataclass(frozen=True)
class NewWork:
    title: str
    authors: Sequence[AuthorRef]
    type: WorkType = WorkType.ARTICLE
    publication_year: int | None = None
    publication_date: dt.date | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    venue: VenueRef | None = None
    abstract: str | None = None
    topics: Sequence[TopicRef] = ()


@dataclass(frozen=True)
class AddedAuthor:
    researcher: Researcher
    created: bool


@dataclass(frozen=True)
class AddedWork:
    work: Work
    authors: list[AddedAuthor]


class DuplicateWork(Conflict):
    """Raised when ``addWork`` names a DOI or arXiv id a stored work already has."""

    def __init__(self, message: str, work: Work, argument: str) -> None:
        super().__init__(message, argument=argument)
        self.work = work


class IntegratorService:
    async def import_works(
        self, session: AsyncSession, records: Sequence[object], *, max_records: int
    ) -> ImportResult:
        """Map and write OpenAlex work records as one batch of the importer (its mapping, its
        rules: a stored work changes only for a newer ``updated_date``), with its events. A
        record that cannot be imported is REJECTED with the reason and does not stop the
        others; more than ``max_records`` records is BAD_USER_INPUT."""
        if len(records) > max_records:
            raise BadUserInput(
                f"At most {max_records} records per call; got {len(records)}. Send them in "
                "several calls.",
                argument="records",
                max=max_records,
            )
        results = [RecordResult(i, ImportStatus.REJECTED) for i in range(len(records))]
        entries: list[tuple[int, bytes]] = []
        for index, record in enumerate(records):
            results[index].openalex_id = _work_id_of(record)
            try:
                entries.append((index, orjson.dumps(record)))
            except orjson.JSONEncodeError as exc:
                results[index].reason = f"not encodable as JSON ({exc})"
        if not entries:
            return ImportResult(results)
        parsed = parse(SOURCE, entries)
        accepted = {key: parsed.line_of[key] for key in parsed.works}
        kept = set(accepted.values())
        for line in parsed.report:
            rejected = results[line.line]
            if line.line not in kept and rejected.reason is None:
                rejected.reason = REPEATED.sub(r"(first at index \1)", line.reason)
        outcome = await write(session, parsed, events=True)
        assert outcome.works is not None
        written = outcome.works
        statuses = (
            dict.fromkeys(written.inserted, ImportStatus.CREATED)
            | dict.fromkeys(written.updated, ImportStatus.UPDATED)
            | dict.fromkeys(written.unchanged, ImportStatus.UNCHANGED)
        )
        works = await IntegratorRepository(session).works(list(written.ids.values()))
        for key, index in accepted.items():
            result = results[index]
            result.openalex_id = key
            result.status = statuses[key]
            result.work = works[written.ids[key]]
        for result in results:
            if result.status is ImportStatus.REJECTED and result.reason is None:
                result.reason = "not imported"
        for line in outcome.report:
            _attach_note(results, accepted, line)
        return ImportResult(results)

    async def add_work(self, session: AsyncSession, new: NewWork) -> AddedWork:
        """One work from plain fields, its authors matched by OpenAlex author id or ORCID iD
        (created when unknown and named); emits ``works.added``. The DOI and the arXiv id must
        be new among works (CONFLICT, naming the work that has it)."""
        title = new.title.strip()
        if not title:
            raise BadUserInput("A work needs a title.", argument="title")
        doi = _doi(new.doi) if new.doi is not None else None
        arxiv_id = _arxiv_id(new.arxiv_id) if new.arxiv_id is not None else None
        if arxiv_id is None and doi is not None and doi.startswith(ARXIV_DOI):
            # DataCite's DOI of an arXiv preprint, as the importer reads it.
            arxiv_id = (
                doi.removeprefix(ARXIV_DOI) if ARXIV_ID.match(doi[len(ARXIV_DOI) :]) else None
            )
        year = new.publication_year
        if new.publication_date is not None:
            if year is not None and year != new.publication_date.year:
                raise BadUserInput(
                    "publicationYear and publicationDate disagree.", argument="publicationYear"
                )
            year = new.publication_date.year
        if not new.authors:
            raise BadUserInput("A work needs at least one author.", argument="authors")
        authors = [_author(i, a) for i, a in enumerate(new.authors)]
        topics = [_topic(i, t) for i, t in enumerate(new.topics)]
        repository = IntegratorRepository(session)
        identifiers = [f"orcid:{a.orcid}" for a in authors if a.orcid]
        identifiers += [f"openalex:{a.openalex_id}" for a in authors if a.openalex_id]
        identifiers += [f"doi:{doi}"] if doi else []
        identifiers += [f"arxiv:{arxiv_id}"] if arxiv_id else []
        await repository.lock_identifiers(identifiers)
        if doi and (taken := await repository.work_with_doi(doi)) is not None:
            raise DuplicateWork(f"A work with DOI {doi} exists already.", taken, "doi")
        if arxiv_id and (taken := await repository.work_with_arxiv_id(arxiv_id)) is not None:
            raise DuplicateWork(
                f"A work with arXiv id {arxiv_id} exists already.", taken, "arxivId"
            )
        added = await self._researchers(session, authors)
        topic_ids = await self._topics(repository, topics)
        venue = await self._venue(repository, new.venue) if new.venue else None
        work = Work(
            title=title,
            abstract=(new.abstract or "").strip() or None,
            type=new.type,
            publication_year=year,
            publication_date=new.publication_date,
            doi=doi,
            arxiv_id=arxiv_id,
            venue_id=venue.id if venue else None,
        )
        repository.add(work)
        await repository.flush()
        for position, (author, match) in enumerate(zip(authors, added, strict=True), start=1):
            repository.add(
                Authorship(
                    work_id=work.id,
                    researcher_id=match.researcher.id,
                    position=position,
                    raw_author_name=author.display_name,
                )
            )
        for topic_id, score in topic_ids.items():
            repository.add(WorkTopic(work_id=work.id, topic_id=topic_id, score=score))
        await repository.flush()
        emit(session, "works.added", work_id=work.id)
        stored = await repository.work(work.id)
        assert stored is not None
        return AddedWork(stored, added)

    async def _researchers(
        self, session: AsyncSession, authors: Sequence[AuthorRef]
    ) -> list[AddedAuthor]:
        researchers = ResearcherRepository(session)
        found: list[AddedAuthor] = []
        for index, author in enumerate(authors):
            where = f"authors.{index}"
            by_openalex = (
                await researchers.get_by_openalex_id(author.openalex_id)
                if author.openalex_id
                else None
            )
            by_orcid = await researchers.get_by_orcid(author.orcid) if author.orcid else None
            if by_openalex and by_orcid and by_openalex.id != by_orcid.id:
                raise Conflict(
                    f"Author {index + 1}: OpenAlex id {author.openalex_id} and ORCID iD "
                    f"{author.orcid} belong to two different researchers.",
                    argument=where,
                )
            researcher = by_openalex or by_orcid
            created = False
            if researcher is not None:
                _agrees(index, author, by_openalex, by_orcid)
            elif author.display_name:
                researcher = researchers.add(
                    Researcher(
                        display_name=author.display_name,
                        search_name=fold_name(author.display_name),
                        orcid=author.orcid,
                        openalex_id=author.openalex_id,
                    )
                )
                await session.flush()
                created = True
            else:
                raise BadUserInput(
                    f"Author {index + 1}: no researcher has this "
                    f"{'OpenAlex id' if author.openalex_id else 'ORCID iD'}; give a displayName "
                    "to create one.",
                    argument=f"{where}.displayName",
                )
            for earlier, other in enumerate(found):
                if other.researcher.id == researcher.id:
                    raise BadUserInput(
                        f"Authors {earlier + 1} and {index + 1} are the same researcher.",
                        argument=where,
                    )
            found.append(AddedAuthor(researcher, created))
        return found

    async def _topics(
        self, repository: IntegratorRepository, topics: Sequence[TopicRef]
    ) -> dict[int, float]:
        by_id = await repository.topics_by_id([t.topic_id for t in topics if t.topic_id])
        by_key = await repository.topics_by_openalex_id(
            [t.openalex_id for t in topics if t.openalex_id]
        )
        scores: dict[int, float] = {}
        for index, ref in enumerate(topics):
            topic: Topic | None = (
                by_id.get(ref.topic_id) if ref.topic_id else by_key.get(ref.openalex_id or "")
            )
            if topic is None:
                raise NotFound(
                    f"Topic {index + 1}: no topic {ref.openalex_id or ref.topic_id}.",
                    argument=f"topics.{index}",
                )
            scores.setdefault(topic.id, ref.score)
        return scores

    async def _venue(self, repository: IntegratorRepository, ref: VenueRef) -> Venue:
        """The stored venue with this OpenAlex source id, else this ISSN-L, else this name;
        else a new one."""
        name = ref.display_name.strip()
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise BadUserInput(
                f"A venue name must be 1 to {MAX_NAME_LENGTH} characters.",
                argument="venue.displayName",
            )
        key = None
        if ref.openalex_id is not None:
            key = short_id(ref.openalex_id, "S")
            if key is None:
                raise BadUserInput(
                    "Malformed OpenAlex source id: expected S followed by digits.",
                    argument="venue.openalexId",
                )
            if (venue := await repository.venue_by_openalex_id(key)) is not None:
                return venue
        issn_l = ref.issn_l.strip().upper() if ref.issn_l else None
        if issn_l is not None and not ISSN_L.match(issn_l):
            raise BadUserInput("Malformed ISSN-L: expected 1234-567X.", argument="venue.issnL")
        if key is None:
            if issn_l and (venue := await repository.venue_by_issn_l(issn_l)) is not None:
                return venue
            if (venue := await repository.venue_by_name(name)) is not None:
                return venue
        venue = Venue(display_name=name, openalex_id=key, issn_l=issn_l)
        repository.add(venue)
        await repository.flush()
        return venue


def _work_id_of(record: object) -> str | None:
    return short_id(record.get("id"), "W") if isinstance(record, dict) else None


def _attach_note(results: list[RecordResult], accepted: dict[str, int], line: ReportLine) -> None:
    """A report line about an imported record (or what it names) becomes one of its notes; the
    line of a record left out whole is its reason already."""
    index = line.line if 0 <= line.line < len(results) else accepted.get(line.entity_id)
    if index is None or results[index].status is ImportStatus.REJECTED:
        if index is None:
            log.warning("imports.note_unplaced", entity_id=line.entity_id, reason=line.reason)
        return
    results[index].notes.append(ImportNote(line.entity_id, line.reason, not line.skipped))


def _author(index: int, author: AuthorRef) -> AuthorRef:
    where = f"authors.{index}"
    if not author.openalex_id and not author.orcid:
        raise BadUserInput(f"Author {index + 1}: give an openalexId or an orcid.", argument=where)
    try:
        openalex_id = (
            normalize_openalex_author_id(author.openalex_id) if author.openalex_id else None
        )
        if openalex_id and len(openalex_id) > MAX_OPENALEX_ID_LENGTH:
            raise BadUserInput("Malformed OpenAlex author id: too long.")
    except BadUserInput as exc:
        raise BadUserInput(
            f"Author {index + 1}: {exc.message}", argument=f"{where}.openalexId"
        ) from exc
    try:
        orcid = normalize_orcid(author.orcid) if author.orcid else None
    except BadUserInput as exc:
        raise BadUserInput(f"Author {index + 1}: {exc.message}", argument=f"{where}.orcid") from exc
    name = (author.display_name or "").strip() or None
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise BadUserInput(
            f"Author {index + 1}: a name has at most {MAX_NAME_LENGTH} characters.",
            argument=f"{where}.displayName",
        )
    return AuthorRef(openalex_id, orcid, name)


def _agrees(
    index: int, author: AuthorRef, by_openalex: Researcher | None, by_orcid: Researcher | None
) -> None:
    """A researcher matched by one id whose record gives the other id differently is a
    CONFLICT (``addWork`` never changes a researcher's ids). Matched by an OpenAlex id that
    OpenAlex merged, the record holds the survivor's id: that agrees."""
    if by_openalex is not None and by_orcid is None:
        stored, given, label = by_openalex.orcid, author.orcid, "ORCID iD"
    elif by_orcid is not None and by_openalex is None:
        stored, given, label = by_orcid.openalex_id, author.openalex_id, "OpenAlex id"
    else:
        return
    if given and stored and given != stored:
        raise Conflict(
            f"Author {index + 1}: the researcher matched has {label} {stored}, not {given}.",
            argument=f"authors.{index}",
        )


def _topic(index: int, topic: TopicRef) -> TopicRef:
    if (topic.topic_id is None) == (topic.openalex_id is None):
        raise BadUserInput(
            f"Topic {index + 1}: give either an id or an openalexId.", argument=f"topics.{index}"
        )
    if not 0.0 <= topic.score <= 1.0:
        raise BadUserInput(
            f"Topic {index + 1}: a score is between 0 and 1.", argument=f"topics.{index}.score"
        )
    if topic.openalex_id is not None:
        key = short_id(topic.openalex_id, "")
        if key is None:
            raise BadUserInput(
                f"Topic {index + 1}: malformed OpenAlex id.", argument=f"topics.{index}.openalexId"
            )
        return TopicRef(openalex_id=key, score=topic.score)
    return topic


def _doi(value: str) -> str:
    """Lower-cased, without a resolver prefix, as the importer stores it."""
    doi = value.strip().lower()
    for prefix in DOI_PREFIXES:
        doi = doi.removeprefix(prefix)
    if not DOI.match(doi) or len(doi) > 255:
        raise BadUserInput("Malformed DOI: expected 10.NNNN/suffix.", argument="doi")
    return doi


def _arxiv_id(value: str) -> str:
    """``arXiv:2207.13955v2`` or its abs URL -> ``2207.13955`` (versions are one work)."""
    arxiv_id = value.strip()
    for prefix in ARXIV_PREFIXES:
        if arxiv_id.lower().startswith(prefix):
            arxiv_id = arxiv_id[len(prefix) :]
    arxiv_id = re.sub(r"v\d+$", "", arxiv_id)
    if not ARXIV_ID.match(arxiv_id):
        raise BadUserInput(
            "Malformed arXiv id: expected 2207.13955 or hep-th/9901001.", argument="arxivId"
        )
    return arxiv_id


integrations = IntegratorService()
