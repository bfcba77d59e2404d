"""The one interface every search goes through. ``SqlSearchIndex`` (the service's own
PostgreSQL or SQLite database) implements it; an index kept in a dedicated engine (OpenSearch,
Meilisearch) would implement the same methods, fed by the same change events that keep the
caches fresh, and ``search_index`` would choose it by configuration. Answers are ids and sort
keys: entities are always loaded from the database, so an index can lag but never show
what the database does not hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.paging import Ordering, Page, PageRequest
from service.search.criteria import (
    Bucket,
    Hit,
    NamedCriteria,
    ResearcherCriteria,
    WorkCriteria,
    WorkFacet,
)
from service.search.repository import SqlSearchIndex
from service.search.text import SearchText


class SearchIndex(Protocol):
    def researcher_ordering(self, criteria: ResearcherCriteria) -> Ordering: ...

    async def researchers(
        self, criteria: ResearcherCriteria, page: PageRequest
    ) -> tuple[Page[int], int | None]:
        """A page of researcher ids, and the total when it came for free."""

    async def count_researchers(self, criteria: ResearcherCriteria) -> int: ...

    def work_ordering(self, criteria: WorkCriteria) -> Ordering: ...

    async def works(
        self, criteria: WorkCriteria, page: PageRequest
    ) -> tuple[Page[int], int | None]: ...

    async def count_works(self, criteria: WorkCriteria) -> int:
        """How many works match, up to ``criteria.window + 1``: more than the window counts
        ``window + 1``, and the facets count the window's works alone."""

    async def work_facets(
        self, criteria: WorkCriteria, wanted: Mapping[WorkFacet, int]
    ) -> dict[WorkFacet, list[Bucket]]:
        """The buckets of each facet wanted (with how many values to keep)."""

    async def works_with_facets(
        self, criteria: WorkCriteria, page: PageRequest, wanted: Mapping[WorkFacet, int]
    ) -> tuple[Page[int], int, dict[WorkFacet, list[Bucket]]]:
        """``works``, ``count_works`` and ``work_facets`` of one search at once (a results
        page with its filter sidebar), finding the matching works once."""

    def named_ordering(self, criteria: NamedCriteria) -> Ordering: ...

    async def named(
        self, criteria: NamedCriteria, page: PageRequest
    ) -> tuple[Page[int], int | None]: ...

    async def count_named(self, criteria: NamedCriteria) -> int: ...

    def everything_ordering(self) -> Ordering: ...

    async def everything(self, search: SearchText, page: PageRequest, window: int) -> Page[Hit]:
        """Every kind's matches in one ranked list, the works of ``window`` alone."""

    async def count_everything(self, search: SearchText, window: int) -> int:
        """How many of every kind match ``search`` (the search box's total), works up to
        ``window``."""


def search_index(session: AsyncSession) -> SearchIndex:
    return SqlSearchIndex(session)
