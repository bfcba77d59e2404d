"""What a search asks for: the text, the filters and the order of each list. Plain values, built
and checked by ``service.py``, read by the index (``index.py``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from service.search.text import SearchText

OrderT = TypeVar("OrderT", bound=enum.Enum)


class ResearcherOrder(enum.Enum):
    RELEVANCE = "RELEVANCE"
    NAME = "NAME"
    WORKS = "WORKS"
    TRUST = "TRUST"
    FOLLOWERS = "FOLLOWERS"


class WorkOrder(enum.Enum):
    RELEVANCE = "RELEVANCE"
    YEAR = "YEAR"
    CITATIONS = "CITATIONS"


class NameOrder(enum.Enum):
    RELEVANCE = "RELEVANCE"
    NAME = "NAME"


class NamedKind(enum.Enum):
    """The entities found by name alone."""

    TOPIC = "topics"
    INSTITUTION = "institutions"
    VENUE = "venues"


class WorkFacet(enum.Enum):
    YEAR = "year"
    TYPE = "type"
    TOPIC = "topic"
    VENUE = "venue"
    INSTITUTION = "institution"


def chosen_order(
    given: OrderT | None, text: SearchText | None, relevance: OrderT, default: OrderT
) -> OrderT:
    """The order asked for; none (or relevance without text, which ranks nothing) means
    relevance when there is text, else ``default``."""
    if given is None or (given is relevance and text is None):
        return relevance if text is not None else default
    return given


def shape(criteria: Any) -> tuple[str, ...]:
    """The names of the filters set: what changes a statement's text (values are bound)."""
    return tuple(f.name for f in fields(criteria) if getattr(criteria, f.name) is not None)


@dataclass(frozen=True, slots=True)
class ResearcherFilter:
    institution_id: int | None = None
    country: str | None = None
    topic_id: int | None = None
    verification_level: str | None = None
    claimed: bool | None = None
    open_to_collaborate: bool | None = None
    has_orcid: bool | None = None
    works_min: int | None = None


@dataclass(frozen=True, slots=True)
class ResearcherCriteria:
    text: SearchText | None
    filter: ResearcherFilter
    order: ResearcherOrder


@dataclass(frozen=True, slots=True)
class WorkFilter:
    year_from: int | None = None
    year_to: int | None = None
    type: str | None = None
    venue_id: int | None = None
    topic_id: int | None = None
    institution_id: int | None = None
    author_id: int | None = None
    has_abstract: bool | None = None
    has_doi: bool | None = None

    @property
    def lists_ids(self) -> bool:
        """Whether it chooses works from a list of ids (a topic's, an institution's or an
        author's works), whose length no planner can estimate."""
        return any(id_ is not None for id_ in (self.topic_id, self.institution_id, self.author_id))


@dataclass(frozen=True, slots=True)
class WorkCriteria:
    text: SearchText | None
    filter: WorkFilter
    order: WorkOrder
    window: int
    """The most works ranked, counted and faceted (``Settings.search_window``)."""


@dataclass(frozen=True, slots=True)
class NamedFilter:
    country: str | None = None
    type: str | None = None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class NamedCriteria:
    kind: NamedKind
    text: SearchText | None
    filter: NamedFilter
    order: NameOrder


@dataclass(frozen=True, slots=True)
class Bucket:
    """One facet value and how many works of the result have it."""

    value: str
    label: str
    count: int


class HitKind(enum.Enum):
    """What the search box finds; the value breaks ties of equal relevance."""

    RESEARCHER = 5
    TOPIC = 4
    INSTITUTION = 3
    VENUE = 2
    WORK = 1


@dataclass(frozen=True, slots=True)
class Hit:
    kind: HitKind
    id: int
