"""The lists people and programs search: researchers, works, topics, institutions, venues and
the search box's mixed list."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry

from service.db.paging import Page
from service.errors import BadUserInput
from service.graphql.context import Info
from service.graphql.relay import (
    Connection,
    LoadedNode,
    build_connection,
    from_global_id,
    page_args,
    page_info,
)
from service.institutions.types import Institution
from service.researchers.types import Researcher
from service.search import criteria as c
from service.search.criteria import HitKind, NamedKind
from service.search.service import Results
from service.search.service import search as search_service
from service.search.text import parse_search
from service.search.types import (
    InstitutionFilter,
    ResearcherFilter,
    SearchResultConnection,
    SearchResultEdge,
    WorkFilter,
    WorkSearchConnection,
)
from service.text import clean_text
from service.topics.models import TopicLevel
from service.topics.types import Topic
from service.works.models import VenueType
from service.works.types import Venue, Work

NodeT = TypeVar("NodeT", bound=LoadedNode)
PAGING = "`first`/`after` or `last`/`before` page through it (keyset cursors)."
HIT_TYPES: dict[HitKind, type[LoadedNode]] = {
    HitKind.RESEARCHER: Researcher,
    HitKind.WORK: Work,
    HitKind.TOPIC: Topic,
    HitKind.INSTITUTION: Institution,
    HitKind.VENUE: Venue,
}


def _id(value: strawberry.ID | None, type_name: str, argument: str) -> int | None:
    if value is None:
        return None
    try:
        return from_global_id(value, type_name)[1]
    except BadUserInput as error:
        raise BadUserInput(f"`{argument}` is not a {type_name} id.", argument=argument) from error


def _country(value: str | None, argument: str) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise BadUserInput(
            f"`{argument}` must be a two-letter country code, as SA.", argument=argument
        )
    return code


async def _hydrate(info: Info, node_type: type[NodeT], results: Results) -> Connection[NodeT]:
    """The page's entities through the request's loader (one statement); one deleted since
    the search ran is left out."""
    loader = getattr(info.context.loaders, node_type.loader_name)
    models = await loader.load_many(results.page.items)
    page = results.page
    kept = [(m, cursor) for m, cursor in zip(models, page.cursors, strict=True) if m is not None]
    found = Page(
        items=[m for m, _ in kept],
        cursors=[cursor for _, cursor in kept],
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
    )
    return build_connection(found, node_type.from_model, results.count)


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Researchers, found by name (misspellings, accents and dashes forgiven) "
        "and filtered. Merged records answer as their survivors, so they are not listed. " + PAGING
    )
    async def researchers(
        self,
        info: Info,
        search: str | None = None,
        filter: ResearcherFilter | None = None,
        order_by: c.ResearcherOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Researcher]:
        text = parse_search(search)
        given = filter or ResearcherFilter()
        criteria = c.ResearcherCriteria(
            text=text,
            filter=c.ResearcherFilter(
                institution_id=_id(given.institution, "Institution", "filter.institution"),
                country=_country(given.country, "filter.country"),
                topic_id=_id(given.topic, "Topic", "filter.topic"),
                verification_level=given.verification_level.value
                if given.verification_level
                else None,
                claimed=given.claimed,
                open_to_collaborate=given.open_to_collaborate,
                has_orcid=given.has_orcid,
                works_min=given.works_min,
            ),
            order=c.chosen_order(
                order_by, text, c.ResearcherOrder.RELEVANCE, c.ResearcherOrder.NAME
            ),
        )
        session = info.context.session
        await search_service.check_researcher_filter(session, criteria)
        ordering = search_service.researcher_ordering(session, criteria)
        request = page_args(info, ordering, first=first, after=after, last=last, before=before)
        results = await search_service.researchers(session, criteria, request)
        return await _hydrate(info, Researcher, results)

    @strawberry.field(
        description="Works, found by full text (title above abstract, English stemming, "
        "accents forgiven) and by topic name, filtered, with facets. " + PAGING
    )
    async def works(
        self,
        info: Info,
        search: str | None = None,
        filter: WorkFilter | None = None,
        order_by: c.WorkOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> WorkSearchConnection:
        text = parse_search(search)
        given = filter or WorkFilter()
        criteria = c.WorkCriteria(
            text=text,
            filter=c.WorkFilter(
                year_from=given.year_from,
                year_to=given.year_to,
                type=given.type,
                venue_id=_id(given.venue, "Venue", "filter.venue"),
                topic_id=_id(given.topic, "Topic", "filter.topic"),
                institution_id=_id(given.institution, "Institution", "filter.institution"),
                author_id=_id(given.author, "Researcher", "filter.author"),
                has_abstract=given.has_abstract,
                has_doi=given.has_doi,
            ),
            order=c.chosen_order(order_by, text, c.WorkOrder.RELEVANCE, c.WorkOrder.YEAR),
            window=info.context.settings.search_window,
        )
        session = info.context.session
        await search_service.check_work_filter(session, criteria)
        ordering = search_service.work_ordering(session, criteria)
        request = page_args(info, ordering, first=first, after=after, last=last, before=before)
        results = await search_service.works(session, criteria, request)
        found = await _hydrate(info, Work, results)
        return WorkSearchConnection(
            edges=found.edges, page_info=found.page_info, count=found.count, criteria=criteria
        )

    @strawberry.field(description="Topics (and subfields, fields, domains) by name. " + PAGING)
    async def topics(
        self,
        info: Info,
        search: str | None = None,
        level: TopicLevel | None = None,
        order_by: c.NameOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Topic]:
        named = c.NamedFilter(level=level)
        return await _named(
            info, NamedKind.TOPIC, Topic, search, named, order_by, first, after, last, before
        )

    @strawberry.field(description="Institutions by name, country and type. " + PAGING)
    async def institutions(
        self,
        info: Info,
        search: str | None = None,
        filter: InstitutionFilter | None = None,
        order_by: c.NameOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Institution]:
        given = filter or InstitutionFilter()
        named = c.NamedFilter(
            country=_country(given.country, "filter.country"),
            type=clean_text(given.type, argument="filter.type", max_length=32).lower()
            if given.type
            else None,
        )
        return await _named(
            info,
            NamedKind.INSTITUTION,
            Institution,
            search,
            named,
            order_by,
            first,
            after,
            last,
            before,
        )

    @strawberry.field(description="Venues (journals, repositories, conferences) by name. " + PAGING)
    async def venues(
        self,
        info: Info,
        search: str | None = None,
        type: VenueType | None = None,
        order_by: c.NameOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Venue]:
        named = c.NamedFilter(type=type)
        return await _named(
            info, NamedKind.VENUE, Venue, search, named, order_by, first, after, last, before
        )

    @strawberry.field(
        description="The search box: researchers, works, topics, institutions and venues in one "
        "list, the most relevant first. " + PAGING
    )
    async def search(
        self,
        info: Info,
        text: str,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> SearchResultConnection:
        parsed = parse_search(text, argument="text")
        session = info.context.session
        ordering = search_service.index(session).everything_ordering()
        request = page_args(info, ordering, first=first, after=after, last=last, before=before)
        window = info.context.settings.search_window
        results = await search_service.everything(session, parsed, request, window)
        loaders = info.context.loaders
        by_kind: dict[HitKind, list[int]] = {}
        for hit in results.page.items:
            by_kind.setdefault(hit.kind, []).append(hit.id)
        loaded: dict[tuple[HitKind, int], Any] = {}
        for kind, ids in by_kind.items():
            node_type = HIT_TYPES[kind]
            models = await getattr(loaders, node_type.loader_name).load_many(ids)
            loaded |= {(kind, i): m for i, m in zip(ids, models, strict=True) if m is not None}
        edges = [
            SearchResultEdge(
                cursor=cursor,
                node=HIT_TYPES[hit.kind].from_model(loaded[hit.kind, hit.id]),  # type: ignore[arg-type]
            )
            for hit, cursor in zip(results.page.items, results.page.cursors, strict=True)
            if (hit.kind, hit.id) in loaded
        ]
        return SearchResultConnection(
            edges=edges, page_info=page_info(results.page), count=results.count
        )


async def _named(
    info: Info,
    kind: NamedKind,
    node_type: type[NodeT],
    search_text: str | None,
    named: c.NamedFilter,
    order_by: Any,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[NodeT]:
    text = parse_search(search_text)
    criteria = c.NamedCriteria(
        kind=kind,
        text=text,
        filter=named,
        order=c.chosen_order(order_by, text, c.NameOrder.RELEVANCE, c.NameOrder.NAME),
    )
    session = info.context.session
    ordering = search_service.named_ordering(session, criteria)
    request = page_args(info, ordering, first=first, after=after, last=last, before=before)
    results = await search_service.named(session, criteria, request)
    return await _hydrate(info, node_type, results)
