"""Search requests checked and answered: filters naming unknown entities or impossible ranges
are refused (BAD_USER_INPUT naming the argument), pages of ids come from the search index and
the entities from the request's loaders. Never commits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.paging import Ordering, Page, PageRequest
from service.errors import BadUserInput
from service.institutions.models import Institution
from service.researchers.models import Researcher
from service.search.criteria import (
    Bucket,
    NamedCriteria,
    ResearcherCriteria,
    WorkCriteria,
    WorkFacet,
)
from service.search.index import SearchIndex, search_index
from service.search.text import SearchText
from service.topics.models import Topic
from service.works.models import Venue

MAX_FACET_VALUES = 50
EMPTY: Page[Any] = Page(items=[], cursors=[])


@dataclass(slots=True)
class Results:
    """A page of ids (or ``Hit``s) with the count of the whole list (computed once, when
    asked)."""

    page: Page[Any]
    count: Callable[[], Awaitable[int]]


def _counter(
    total: int | None, count: Callable[[], Awaitable[int]]
) -> Callable[[], Awaitable[int]]:
    cached: list[int] = [] if total is None else [total]
    # Fields resolved at once (``totalCount``, ``countsAreExact``) wait for one count.
    counting = asyncio.Lock()

    async def counted() -> int:
        async with counting:
            if not cached:
                cached.append(await count())
        return cached[0]

    return counted


async def _none() -> int:
    return 0


async def _listed(
    criteria: Any,
    request: PageRequest,
    page_of: Callable[[Any, PageRequest], Awaitable[tuple[Page[int], int | None]]],
    count_of: Callable[[Any], Awaitable[int]],
) -> Results:
    """One list's page and its count; nothing for a text that can find nothing."""
    if criteria.text is not None and criteria.text.finds_nothing:
        return Results(EMPTY, _none)
    page, total = await page_of(criteria, request)
    return Results(page, _counter(total, lambda: count_of(criteria)))


class SearchService:
    def index(self, session: AsyncSession) -> SearchIndex:
        return search_index(session)

    async def require(
        self, session: AsyncSession, model: type[Any], id_: int | None, argument: str
    ) -> None:
        """BAD_USER_INPUT naming ``argument`` when no ``model`` has ``id_``."""
        if id_ is not None and await session.get(model, id_) is None:
            raise BadUserInput(f"`{argument}` names nothing that exists.", argument=argument)

    async def check_researcher_filter(
        self, session: AsyncSession, criteria: ResearcherCriteria
    ) -> None:
        f = criteria.filter
        await self.require(session, Institution, f.institution_id, "filter.institution")
        await self.require(session, Topic, f.topic_id, "filter.topic")
        if f.works_min is not None and f.works_min < 0:
            raise BadUserInput(
                "`filter.worksMin` must not be negative.", argument="filter.worksMin"
            )

    async def check_work_filter(self, session: AsyncSession, criteria: WorkCriteria) -> None:
        f = criteria.filter
        if f.year_from is not None and f.year_to is not None and f.year_from > f.year_to:
            raise BadUserInput(
                "`filter.yearFrom` is after `filter.yearTo`.", argument="filter.yearFrom"
            )
        await self.require(session, Venue, f.venue_id, "filter.venue")
        await self.require(session, Topic, f.topic_id, "filter.topic")
        await self.require(session, Institution, f.institution_id, "filter.institution")
        await self.require(session, Researcher, f.author_id, "filter.author")

    def researcher_ordering(self, session: AsyncSession, criteria: ResearcherCriteria) -> Ordering:
        return self.index(session).researcher_ordering(criteria)

    def work_ordering(self, session: AsyncSession, criteria: WorkCriteria) -> Ordering:
        return self.index(session).work_ordering(criteria)

    def named_ordering(self, session: AsyncSession, criteria: NamedCriteria) -> Ordering:
        return self.index(session).named_ordering(criteria)

    async def researchers(
        self, session: AsyncSession, criteria: ResearcherCriteria, request: PageRequest
    ) -> Results:
        index = self.index(session)
        return await _listed(criteria, request, index.researchers, index.count_researchers)

    async def works(
        self, session: AsyncSession, criteria: WorkCriteria, request: PageRequest
    ) -> Results:
        index = self.index(session)
        return await _listed(criteria, request, index.works, index.count_works)

    async def works_with_facets(
        self,
        session: AsyncSession,
        criteria: WorkCriteria,
        request: PageRequest,
        wanted: Mapping[WorkFacet, int],
    ) -> tuple[Page[int], int, dict[WorkFacet, list[Bucket]]]:
        """A page of works, their count (``count_works``') and the facets wanted, at once."""
        if criteria.text is not None and criteria.text.finds_nothing:
            return EMPTY, 0, {facet: [] for facet in wanted}
        return await self.index(session).works_with_facets(criteria, request, wanted)

    async def named(
        self, session: AsyncSession, criteria: NamedCriteria, request: PageRequest
    ) -> Results:
        index = self.index(session)
        return await _listed(criteria, request, index.named, index.count_named)

    async def everything(
        self,
        session: AsyncSession,
        search: SearchText | None,
        request: PageRequest,
        window: int,
    ) -> Results:
        """Every kind at once, best first, the works of the ``window`` alone; nothing for no
        text."""
        if search is None or search.finds_nothing:
            return Results(EMPTY, _none)
        index = self.index(session)
        page = await index.everything(search, request, window)
        return Results(page, _counter(None, lambda: index.count_everything(search, window)))

    def check_facet_size(self, limit: int) -> None:
        if not 1 <= limit <= MAX_FACET_VALUES:
            raise BadUserInput(
                f"`first` of a facet must be between 1 and {MAX_FACET_VALUES}.", argument="first"
            )

    async def work_facets(
        self, session: AsyncSession, criteria: WorkCriteria, wanted: Mapping[WorkFacet, int]
    ) -> dict[WorkFacet, list[Bucket]]:
        if criteria.text is not None and criteria.text.finds_nothing:
            return {facet: [] for facet in wanted}
        return await self.index(session).work_facets(criteria, wanted)


search = SearchService()
