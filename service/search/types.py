"""GraphQL types of search: filters, orders, facets and the search box's mixed results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry import relay

from service.graphql.context import Info
from service.graphql.relay import Connection, to_global_id
from service.institutions.types import Institution
from service.researchers.types import Researcher
from service.search import criteria
from service.search.criteria import WorkCriteria, WorkFacet
from service.search.service import search
from service.topics.types import Topic
from service.trust.score import VerificationLevel
from service.works.models import WorkType
from service.works.types import Venue, Work

strawberry.enum(
    criteria.ResearcherOrder,
    description="RELEVANCE (the default with `search`): exact and prefix matches of the name "
    "first, then the most similar names, ties by works. NAME (the default without): "
    "alphabetical. WORKS, TRUST, FOLLOWERS: the most first.",
)
strawberry.enum(
    criteria.WorkOrder,
    description="RELEVANCE (the default with `search`): title above abstract, the words as a "
    "phrase and works of a matching topic first, ties by citations. YEAR (the default without): "
    "newest first. CITATIONS: most cited first.",
)
strawberry.enum(
    criteria.NameOrder,
    description="RELEVANCE (the default with `search`) or NAME (alphabetical, the default "
    "without).",
)


@strawberry.input(description="Researchers having all of these.")
class ResearcherFilter:
    institution: strawberry.ID | None = strawberry.field(
        default=None, description="Affiliated with this institution."
    )
    country: str | None = strawberry.field(
        default=None, description="Affiliated in this country (ISO 3166-1 alpha-2, as `SA`)."
    )
    topic: strawberry.ID | None = strawberry.field(
        default=None, description="With works on this topic."
    )
    verification_level: VerificationLevel | None = None
    claimed: bool | None = strawberry.field(
        default=None, description="Whether an account holds a verified claim of the record."
    )
    open_to_collaborate: bool | None = None
    has_orcid: bool | None = None
    works_min: int | None = strawberry.field(default=None, description="At least this many works.")


@strawberry.input(description="Works having all of these.")
class WorkFilter:
    year_from: int | None = None
    year_to: int | None = None
    type: WorkType | None = None
    venue: strawberry.ID | None = None
    topic: strawberry.ID | None = None
    institution: strawberry.ID | None = strawberry.field(
        default=None, description="With an author at this institution (as the work gives it)."
    )
    author: strawberry.ID | None = strawberry.field(
        default=None, description="With this researcher among the authors."
    )
    has_abstract: bool | None = None
    has_doi: bool | None = None


@strawberry.input(description="Institutions having all of these.")
class InstitutionFilter:
    country: str | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 country code, as `SA`."
    )
    type: str | None = strawberry.field(
        default=None, description="OpenAlex's institution type: education, company, ..."
    )


@strawberry.type(description="A value of a facet and how many works of the results have it.")
class FacetBucket:
    value: str = strawberry.field(
        description="The year, the work type, or the global id of the topic, venue or "
        "institution: what the matching filter takes."
    )
    label: str = strawberry.field(description="What to show: the year, type or name.")
    count: int


@strawberry.type(
    description="Counts by year, type, topic, venue and institution over the works the search "
    "and filters find (not only this page; the window's, see `countsAreExact`), most works "
    "first; `first` (1 to 50, default 10) values each."
)
class WorkFacets:
    criteria: strawberry.Private[WorkCriteria]

    async def _buckets(
        self, info: Info, facet: WorkFacet, first: int, node: str = ""
    ) -> list[FacetBucket]:
        search.check_facet_size(first)
        found = await info.context.loaders.work_facets.load((self.criteria, facet, first))
        return [
            FacetBucket(
                value=to_global_id(node, int(b.value)) if node else b.value,
                label=b.label,
                count=b.count,
            )
            for b in found
        ]

    @strawberry.field
    async def by_year(self, info: Info, first: int = 10) -> list[FacetBucket]:
        return await self._buckets(info, WorkFacet.YEAR, first)

    @strawberry.field
    async def by_type(self, info: Info, first: int = 10) -> list[FacetBucket]:
        return await self._buckets(info, WorkFacet.TYPE, first)

    @strawberry.field
    async def by_topic(self, info: Info, first: int = 10) -> list[FacetBucket]:
        return await self._buckets(info, WorkFacet.TOPIC, first, "Topic")

    @strawberry.field
    async def by_venue(self, info: Info, first: int = 10) -> list[FacetBucket]:
        return await self._buckets(info, WorkFacet.VENUE, first, "Venue")

    @strawberry.field
    async def by_institution(self, info: Info, first: int = 10) -> list[FacetBucket]:
        return await self._buckets(info, WorkFacet.INSTITUTION, first, "Institution")


@strawberry.type(
    description="Works found, a page at a time, with facets. A search ranks, counts and facets "
    "at most 1,000 works (`BZPEER_SEARCH_WINDOW`): the most cited of its matches when ranked "
    "by relevance, else the first in the list's order, which pages on through every match."
)
class WorkSearchConnection(Connection[Work]):
    criteria: strawberry.Private[WorkCriteria]

    @strawberry.field(
        description="How many works the list holds, up to the window: see `countsAreExact`."
    )
    async def total_count(self) -> int:
        return min(await self.count(), self.criteria.window)

    @strawberry.field(
        description="Whether `totalCount` and the facets count every work found. False when "
        "more works match than the window holds: they count the window's works, and a list "
        "ranked by relevance holds those alone (narrow the search to reach the others)."
    )
    async def counts_are_exact(self) -> bool:
        return await self.count() <= self.criteria.window

    @strawberry.field
    def facets(self) -> WorkFacets:
        return WorkFacets(criteria=self.criteria)


SearchResult = Annotated[
    Researcher | Work | Topic | Institution | Venue,
    strawberry.union("SearchResult", description="Anything the search box finds."),
]


@strawberry.type(description="A search result and its cursor.")
class SearchResultEdge:
    cursor: str
    node: SearchResult


@strawberry.type(description="Researchers, works, topics, institutions and venues, best first.")
class SearchResultConnection:
    edges: list[SearchResultEdge]
    page_info: relay.PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many results the whole list holds.")
    async def total_count(self) -> int:
        return await self.count()
