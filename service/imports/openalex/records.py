"""OpenAlex records as our rows: pure functions, no I/O.

Both schemas map here: the current one (``primary_location.source``, ``topics``,
``authorships[].institutions``, ``last_known_institutions``) and the 2022 one (``host_venue``,
``concepts``, Crossref types such as ``journal-article``, ``last_known_institution``). Each
function takes one decoded JSON record and returns its rows plus a ``Note`` for every item it
left out or repaired; nothing is cleaned before it gets here.

Rows are keyed by the short OpenAlex id (``W123``, ``A123``, ``I123``, ``S123`` or the legacy
``V123``, ``T123``, ``C123`` for a legacy concept, ``domains/3``, ``fields/22``,
``subfields/2211``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from service.errors import BadUserInput
from service.researchers.names import fold_name
from service.researchers.service import normalize_orcid
from service.topics.models import TopicLevel
from service.works.models import VenueType, WorkType

OPENALEX = "https://openalex.org/"
DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:")
ARXIV_DOI = "10.48550/arxiv."
"""DataCite's DOIs for arXiv preprints: ``10.48550/arxiv.<arXiv id>``."""
MAX_ID_LENGTH = 32
"""The shortest ``openalex_id`` column's length."""
MIN_CONCEPT_SCORE = 0.3
"""Legacy concepts below this score are not kept (OpenAlex tagged a work with a concept from
this score on)."""
MAX_ABSTRACT_WORDS = 100_000
"""Longer inverted indexes (none in OpenAlex) are rebuilt by sorting."""

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
"""OpenAlex work types (and the Crossref names of the 2022 schema) we have a type for; every
other one (``letter``, ``erratum``, ``peer-review``, ``paratext``, ...) is ``OTHER``."""

VENUE_TYPES: Mapping[str, VenueType] = {
    "journal": VenueType.JOURNAL,
    "repository": VenueType.REPOSITORY,
    "conference": VenueType.CONFERENCE,
    "book series": VenueType.BOOK_SERIES,
    "ebook platform": VenueType.EBOOK_PLATFORM,
}

TOPIC_PARENTS: Mapping[TopicLevel, tuple[TopicLevel, str] | None] = {
    TopicLevel.DOMAIN: None,
    TopicLevel.FIELD: (TopicLevel.DOMAIN, "domain"),
    TopicLevel.SUBFIELD: (TopicLevel.FIELD, "field"),
    TopicLevel.TOPIC: (TopicLevel.SUBFIELD, "subfield"),
}
"""Each level's parent level and the record field naming it."""


@dataclass(frozen=True)
class Note:
    """An item left out (``skipped``) or changed to fit (repaired), with the record's id."""

    entity_id: str
    reason: str
    skipped: bool = True


@dataclass(frozen=True)
class ReportLine:
    """One item an import left out or changed, where it came from and why."""

    file: str
    line: int
    entity_id: str
    reason: str
    skipped: bool = True

    def tsv(self) -> str:
        kind = "skipped" if self.skipped else "repaired"
        reason = self.reason.replace("\t", " ").replace("\n", " ")
        return f"{self.file}\t{self.line}\t{self.entity_id}\t{kind}\t{reason}\n"


class Unreadable(Exception):
    """Raised when a record cannot be mapped at all (no id, not an object, no title)."""

    def __init__(self, entity_id: str, reason: str) -> None:
        super().__init__(reason)
        self.entity_id = entity_id
        self.reason = reason


@dataclass
class InstitutionRow:
    key: str
    display_name: str
    ror_id: str | None = None
    country_code: str | None = None
    type: str | None = None
    homepage_url: str | None = None
    domains: list[str] = field(default_factory=list)
    updated: dt.datetime | None = None
    """Set only for a full institution record (from an institutions file)."""


@dataclass
class VenueRow:
    key: str
    display_name: str
    type: VenueType = VenueType.OTHER
    issn_l: str | None = None
    updated: dt.datetime | None = None


@dataclass
class TopicRow:
    key: str
    display_name: str
    level: TopicLevel
    parent: str | None = None
    updated: dt.datetime | None = None


@dataclass
class ResearcherRow:
    key: str
    display_name: str
    orcid: str | None = None
    alternative_names: list[str] | None = None
    affiliation: str | None = None
    """Key of the last known institution (author records only)."""
    updated: dt.datetime | None = None

    @property
    def search_name(self) -> str:
        return fold_name(self.display_name)


@dataclass
class AuthorshipRow:
    position: int
    """1-based place on the record's author list (entries left out leave gaps)."""
    author: str
    raw_name: str | None
    institutions: list[str] = field(default_factory=list)


@dataclass
class WorkRow:
    key: str
    title: str
    type: WorkType
    updated: dt.datetime | None
    doi: str | None = None
    arxiv_id: str | None = None
    pmid: str | None = None
    abstract: str | None = None
    publication_year: int | None = None
    publication_date: dt.date | None = None
    cited_by_count: int = 0
    venue: str | None = None
    authorships: list[AuthorshipRow] = field(default_factory=list)
    topics: dict[str, float] = field(default_factory=dict)
    """Topic key -> score; legacy concepts too."""


RowT = TypeVar("RowT")


@dataclass
class Refs:
    """Entities a record names in passing (dehydrated): stored when missing, never used to
    overwrite what a full record of their own wrote."""

    researchers: dict[str, ResearcherRow] = field(default_factory=dict)
    institutions: dict[str, InstitutionRow] = field(default_factory=dict)
    venues: dict[str, VenueRow] = field(default_factory=dict)
    topics: dict[str, TopicRow] = field(default_factory=dict)

    def update(self, other: Refs) -> None:
        """Add what ``other`` names; a key already here keeps its first row."""
        _keep_first(self.researchers, other.researchers)
        _keep_first(self.institutions, other.institutions)
        _keep_first(self.venues, other.venues)
        _keep_first(self.topics, other.topics)


def _keep_first(mine: dict[str, RowT], theirs: Mapping[str, RowT]) -> None:
    for key, row in theirs.items():
        mine.setdefault(key, row)


@dataclass
class Rows:
    """One record's rows."""

    refs: Refs = field(default_factory=Refs)
    notes: list[Note] = field(default_factory=list)


@dataclass
class WorkRows(Rows):
    work: WorkRow | None = None


@dataclass
class EntityRows(Rows):
    """A full record of an author, institution, source or topic (of any level)."""

    researcher: ResearcherRow | None = None
    institution: InstitutionRow | None = None
    venue: VenueRow | None = None
    topic: TopicRow | None = None


# -- works --------------------------------------------------------------------------------------


def map_work(record: object) -> WorkRows:
    """A work record of either schema."""
    record = _object(record)
    key = _key_of(record, "W")
    title = record.get("title") or record.get("display_name")
    if not isinstance(title, str) or not title.strip():
        raise Unreadable(key, "no title")
    ids = _dict(record.get("ids"))
    doi = _doi(record.get("doi") or ids.get("doi"))
    mapped = WorkRows()
    work = WorkRow(
        key=key,
        title=title,
        type=WORK_TYPES.get(str(record.get("type")), WorkType.OTHER),
        updated=_timestamp(record.get("updated_date")),
        doi=doi,
        arxiv_id=doi.removeprefix(ARXIV_DOI) if doi and doi.startswith(ARXIV_DOI) else None,
        pmid=_pmid(ids.get("pmid")),
        abstract=_abstract(record.get("abstract_inverted_index")),
        publication_year=_int(record.get("publication_year")),
        publication_date=_date(record.get("publication_date")),
        cited_by_count=_int(record.get("cited_by_count")) or 0,
    )
    mapped.work = work
    work.venue = _venue_of_work(mapped, record)
    by_author: dict[str, AuthorshipRow] = {}
    for position, entry in enumerate(_list(record.get("authorships")), start=1):
        entry = _dict(entry)
        author = _dict(entry.get("author"))
        name = author.get("display_name") or entry.get("raw_author_name")
        author_key = _short_id(author.get("id"), "A")
        if author_key is None:
            mapped.notes.append(Note(key, f"authorship {position} has no author id ({name})"))
            continue
        institutions = _institutions_of(mapped, key, position, entry)
        if author_key in by_author:
            first = by_author[author_key]
            first.institutions.extend(i for i in institutions if i not in first.institutions)
            mapped.notes.append(
                Note(
                    key,
                    f"{author_key} listed again at authorship {position}; "
                    f"folded into authorship {first.position}",
                    skipped=False,
                )
            )
            continue
        raw_name = entry.get("raw_author_name")
        by_author[author_key] = AuthorshipRow(
            position, author_key, raw_name if isinstance(raw_name, str) else None, institutions
        )
        work.authorships.append(by_author[author_key])
        if author_key not in mapped.refs.researchers:
            mapped.refs.researchers[author_key] = ResearcherRow(
                author_key,
                name if isinstance(name, str) and name.strip() else author_key,
                orcid=_orcid(mapped, author_key, author.get("orcid")),
            )
    if "topics" in record:
        for topic in _list(record.get("topics")):
            topic_key = _topic_chain(mapped, topic)
            if topic_key is None:
                name = topic.get("display_name") if isinstance(topic, dict) else None
                mapped.notes.append(Note(key, f"a topic has no id ({name})"))
            else:
                work.topics.setdefault(topic_key, _score(topic))
    else:  # the 2022 schema: concepts instead of topics
        for concept in _list(record.get("concepts")):
            concept = _dict(concept)
            concept_key = _short_id(concept.get("id"), "C")
            if concept_key is None or _score(concept) < MIN_CONCEPT_SCORE:
                continue
            mapped.refs.topics.setdefault(
                concept_key, TopicRow(concept_key, _name(concept, concept_key), TopicLevel.CONCEPT)
            )
            work.topics.setdefault(concept_key, _score(concept))
    return mapped


def _venue_of_work(mapped: WorkRows, record: dict[str, Any]) -> str | None:
    location = record.get("primary_location")
    if isinstance(location, dict):
        source = _dict(location.get("source"))
        return _venue_ref(mapped, source, "S")
    host = record.get("host_venue")  # the 2022 schema
    return _venue_ref(mapped, host, "V") if isinstance(host, dict) else None


def _venue_ref(mapped: Rows, source: dict[str, Any], prefix: str) -> str | None:
    key = _short_id(source.get("id"), prefix)
    if key is not None and key not in mapped.refs.venues:
        mapped.refs.venues[key] = _venue_row(key, source)
    return key


def _institutions_of(
    mapped: WorkRows, work_key: str, position: int, entry: dict[str, Any]
) -> list[str]:
    keys: list[str] = []
    for institution in _list(entry.get("institutions")):
        institution = _dict(institution)
        key = _short_id(institution.get("id"), "I")
        if key is None:
            mapped.notes.append(
                Note(
                    work_key,
                    f"authorship {position} names an institution with no id "
                    f"({institution.get('display_name')})",
                )
            )
            continue
        if key not in keys:
            keys.append(key)
        if key not in mapped.refs.institutions:
            mapped.refs.institutions[key] = _institution_row(key, institution)
    return keys


def _topic_chain(mapped: Rows, topic: object) -> str | None:
    """A work's topic with whichever of its subfield, field and domain are named (the
    parents first); returns the topic's key."""
    if not isinstance(topic, dict):
        return None
    key = _short_id(topic.get("id"), "T")
    if key is None or key in mapped.refs.topics:
        return key
    parent = _parents(mapped, topic, TopicLevel.TOPIC)
    mapped.refs.topics.setdefault(key, TopicRow(key, _name(topic, key), TopicLevel.TOPIC, parent))
    return key


def _parents(mapped: Rows, record: dict[str, Any], level: TopicLevel) -> str | None:
    """Stores the chain above ``level`` named in ``record``; returns the direct parent's key."""
    above = TOPIC_PARENTS[level]
    if above is None:
        return None
    parent_level, name = above
    node = record.get(name)
    if not isinstance(node, dict):
        return None
    key = _short_id(node.get("id"), "")
    if key is None or key in mapped.refs.topics:  # its own parents came with it
        return key
    grandparent = _parents(mapped, record, parent_level)
    mapped.refs.topics.setdefault(key, TopicRow(key, _name(node, key), parent_level, grandparent))
    return key


# -- entities of their own ----------------------------------------------------------------------


def map_author(record: object) -> EntityRows:
    record = _object(record)
    key = _key_of(record, "A")
    mapped = EntityRows()
    name = record.get("display_name")
    alternatives = [
        n for n in _list(record.get("display_name_alternatives")) if isinstance(n, str) and n
    ]
    last_known = _list(record.get("last_known_institutions"))
    if not last_known and isinstance(record.get("last_known_institution"), dict):
        last_known = [record["last_known_institution"]]  # the 2022 schema
    affiliation = None
    for institution in last_known:
        institution = _dict(institution)
        affiliation = _short_id(institution.get("id"), "I")
        if affiliation is not None:
            mapped.refs.institutions.setdefault(
                affiliation, _institution_row(affiliation, institution)
            )
            break
    mapped.researcher = ResearcherRow(
        key,
        name if isinstance(name, str) and name.strip() else key,
        orcid=_orcid(mapped, key, record.get("orcid")),
        alternative_names=alternatives or None,
        affiliation=affiliation,
        updated=_timestamp(record.get("updated_date")) or _EPOCH,
    )
    return mapped


def map_institution(record: object) -> EntityRows:
    record = _object(record)
    key = _key_of(record, "I")
    mapped = EntityRows()
    row = _institution_row(key, record)
    row.updated = _timestamp(record.get("updated_date")) or _EPOCH
    mapped.institution = row
    return mapped


def map_source(record: object) -> EntityRows:
    record = _object(record)
    raw = record.get("id")
    key = _short_id(raw, "S") or _short_id(raw, "V")
    if key is None:
        raise Unreadable(str(raw), "no OpenAlex source id")
    mapped = EntityRows()
    mapped.venue = _venue_row(key, record)
    mapped.venue.updated = _timestamp(record.get("updated_date")) or _EPOCH
    return mapped


def map_topic(record: object, level: TopicLevel) -> EntityRows:
    """A topic, subfield, field or domain record."""
    record = _object(record)
    key = _key_of(record, "T" if level is TopicLevel.TOPIC else "")
    mapped = EntityRows()
    parent = _parents(mapped, record, level)
    mapped.topic = TopicRow(
        key,
        _name(record, key),
        level,
        parent,
        updated=_timestamp(record.get("updated_date")) or _EPOCH,
    )
    return mapped


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""The ``updated`` of a full record that carries no ``updated_date``: still a full record."""


# -- fields -------------------------------------------------------------------------------------


def _institution_row(key: str, record: dict[str, Any]) -> InstitutionRow:
    country = record.get("country_code")
    kind = record.get("type")
    homepage = record.get("homepage_url")
    homepage = homepage if isinstance(homepage, str) and homepage.strip() else None
    return InstitutionRow(
        key=key,
        display_name=_name(record, key),
        ror_id=_ror(record.get("ror")),
        country_code=country.upper() if isinstance(country, str) and len(country) == 2 else None,
        type=kind if isinstance(kind, str) else None,
        homepage_url=homepage,
        domains=[d] if (d := web_domain(homepage)) else [],
    )


def _venue_row(key: str, record: dict[str, Any]) -> VenueRow:
    issn_l = record.get("issn_l")
    return VenueRow(
        key=key,
        display_name=_name(record, key),
        type=VENUE_TYPES.get(str(record.get("type")), VenueType.OTHER),
        issn_l=issn_l if isinstance(issn_l, str) and len(issn_l) <= 9 else None,
    )


def web_domain(url: str | None) -> str | None:
    """``https://www.kfupm.edu.sa/en`` -> ``kfupm.edu.sa``: the domain institutional addresses
    end in (claims by institutional email match it)."""
    if not url:
        return None
    host = urlsplit(url if "://" in url else f"https://{url}").hostname
    if not host or "." not in host:
        return None
    host = host.lower().rstrip(".")
    return host.removeprefix("www.") or None


def _orcid(mapped: Rows, key: str, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    orcid = _checked_orcid(value)
    if orcid is None:
        mapped.notes.append(Note(key, f"malformed ORCID {value!r}; stored without one"))
    return orcid


@functools.lru_cache(maxsize=65_536)
def _checked_orcid(value: str) -> str | None:
    """``normalize_orcid``, None when malformed; cached, as an author's ORCID comes with each
    of their works."""
    try:
        return normalize_orcid(value)
    except BadUserInput:
        return None


def _object(record: object) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise Unreadable("", f"not a JSON object ({type(record).__name__})")
    return record


def _key_of(record: dict[str, Any], prefix: str) -> str:
    raw = record.get("id")
    key = _short_id(raw, prefix)
    if key is None:
        kind = {"W": "work", "A": "author", "I": "institution", "T": "topic"}.get(prefix, "")
        raise Unreadable(str(raw) if raw else "", f"no OpenAlex {kind} id".replace("  ", " "))
    return key


def _short_id(value: object, prefix: str) -> str | None:
    """``https://openalex.org/W123`` -> ``W123`` (None when missing, not of that kind or too
    long for an ``openalex_id`` column); ``prefix`` "" accepts any (``domains/3``). The short
    form alone (``W123``) is accepted too, as integrators send it."""
    if not isinstance(value, str):
        return None
    return _short_string(value, prefix)


@functools.lru_cache(maxsize=65_536)
def _short_string(value: str, prefix: str) -> str | None:
    """``_short_id`` of a string; cached, as the ids of authors, institutions and topics
    repeat from work to work."""
    short = value.strip().removeprefix(OPENALEX)
    if not short or "://" in short:
        return None
    if prefix:
        short = short[0].upper() + short[1:]
        if not (short.startswith(prefix) and short[len(prefix) :].isdigit()):
            return None
    return short if len(short) <= MAX_ID_LENGTH else None


def short_id(value: object, prefix: str) -> str | None:
    """Public form of ``_short_id`` for other modules (merged-id lists, lookups)."""
    return _short_id(value, prefix)


def _name(record: dict[str, Any], key: str) -> str:
    name = record.get("display_name")
    return name if isinstance(name, str) and name.strip() else key


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _score(entry: object) -> float:
    score = entry.get("score") if isinstance(entry, dict) else None
    return float(score) if isinstance(score, int | float) and not isinstance(score, bool) else 0.0


def _doi(value: object) -> str | None:
    """Lower-cased, without the resolver prefix."""
    if not isinstance(value, str) or not value.strip():
        return None
    doi = value.strip().lower()
    for prefix in DOI_PREFIXES:
        doi = doi.removeprefix(prefix)
    return doi or None


def _pmid(value: object) -> str | None:
    """``https://pubmed.ncbi.nlm.nih.gov/8232800`` -> ``8232800``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    digits = value.strip().rstrip("/").rsplit("/", 1)[-1]
    return digits if digits.isdigit() and len(digits) <= 16 else None


def _ror(value: object) -> str | None:
    """``https://ror.org/00rqy9422`` -> ``00rqy9422``."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().removeprefix("https://ror.org/").removeprefix("http://ror.org/")


def _abstract(index: object) -> str | None:
    """The text of an ``abstract_inverted_index`` (word -> positions), words in position order."""
    if not isinstance(index, dict) or not index:
        return None
    # Placed by position rather than sorted (three times faster). Anything unusual (a position
    # that is not an int, out of range, taken twice; never seen in OpenAlex) takes the sort.
    placed: list[str | None] = [None] * sum(
        len(p) if isinstance(p, list) else MAX_ABSTRACT_WORDS for p in index.values()
    )
    if len(placed) >= MAX_ABSTRACT_WORDS:
        return _sorted_abstract(index)
    try:
        for word, positions in index.items():
            for p in positions:
                if type(p) is not int or p < 0 or placed[p] is not None:
                    raise ValueError(p)
                placed[p] = word
    except (IndexError, ValueError):
        return _sorted_abstract(index)
    return " ".join(word for word in placed if word is not None) or None


def _sorted_abstract(index: dict[Any, Any]) -> str | None:
    ordered = sorted(
        (p, word)
        for word, positions in index.items()
        for p in (positions if isinstance(positions, list) else ())
        if isinstance(p, int)
    )
    return " ".join(word for _, word in ordered) or None


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _timestamp(value: object) -> dt.datetime | None:
    """``updated_date``: ``2025-10-10T17:16:08.811792`` or ``2022-05-11``, read as UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
