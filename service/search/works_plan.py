"""The compiled plan of the works search (``service/documents/works_search.graphql``): the page
of ids, the total and the facets from the search index in one statement (which finds the
matching works once, where the general path's page, count and facets each find them), then
what each work shows from two more statements (the works with their venues, the author lists
with the authors' names); the answer built field for field in the document's order, as the
general path would answer it.

Its statements work on either database: the filters' existence checks, the index's page with
total and facets, and the works, venues, authorships, institutions and researchers that the
general path loads in five statements, from two. Its cost limit depends on ``$first``, so
each page size is admitted on its own. Variables it does not expect or cannot coerce exactly
as GraphQL would, a filter or search the general path refuses, a cursor it cannot read, or an
author merged into another record go to the general path, which reports or resolves them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.errors import BadUserInput
from service.graphql.context import Context
from service.graphql.plans import Answer, Plan, page_variables
from service.graphql.relay import configured_page, from_global_id, to_global_id
from service.search.criteria import (
    Bucket,
    WorkCriteria,
    WorkFacet,
    WorkFilter,
    WorkOrder,
    chosen_order,
)
from service.search.service import search
from service.search.text import parse_search
from service.works.models import WorkType
from service.works.repository import ListedAuthor, ListedWork, WorkRepository

DEFAULT_FIRST = 20
"""The document's default for ``$first``."""
FACETS: dict[WorkFacet, tuple[str, int, str]] = {
    WorkFacet.YEAR: ("byYear", 15, ""),
    WorkFacet.TYPE: ("byType", 10, ""),
    WorkFacet.TOPIC: ("byTopic", 10, "Topic"),
    WorkFacet.VENUE: ("byVenue", 10, "Venue"),
    WorkFacet.INSTITUTION: ("byInstitution", 10, "Institution"),
}
"""Each facet the document asks for, in its order: the field, its ``first`` and the type
whose global ids its values are (none: the value as it is)."""
INT_RANGE = range(-(2**31), 2**31)
"""GraphQL's ``Int``: what falls outside is an error the general path reports."""
IDS = {
    "venue": ("Venue", "venue_id"),
    "topic": ("Topic", "topic_id"),
    "institution": ("Institution", "institution_id"),
    "author": ("Researcher", "author_id"),
}
"""The filter's ids: the type each names and the ``WorkFilter`` field it sets."""
FLAGS = {"hasAbstract": "has_abstract", "hasDoi": "has_doi"}
YEARS = {"yearFrom": "year_from", "yearTo": "year_to"}


class Declined(Exception):
    """A variable the plan leaves to the general path."""


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in INT_RANGE:
        raise Declined
    return value


def work_filter(given: Any) -> WorkFilter:
    """The ``WorkFilter`` input as GraphQL would coerce it, or ``Declined``."""
    if given is None:
        return WorkFilter()
    if not isinstance(given, dict) or not given.keys() <= {*IDS, *FLAGS, *YEARS, "type"}:
        raise Declined
    values: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            continue
        if key in YEARS:
            values[YEARS[key]] = _int(value)
        elif key in FLAGS:
            if not isinstance(value, bool):
                raise Declined
            values[FLAGS[key]] = value
        elif key == "type":
            if value not in WorkType.__members__:
                raise Declined
            values["type"] = WorkType[value]
        else:
            type_name, field = IDS[key]
            if not isinstance(value, str):
                raise Declined
            try:
                values[field] = from_global_id(value, type_name)[1]
            except BadUserInput as error:
                raise Declined from error
    return WorkFilter(**values)


def _order(given: Any) -> WorkOrder | None:
    if given is None:
        return None
    if not isinstance(given, str) or given not in WorkOrder.__members__:
        raise Declined
    return WorkOrder[given]


async def works_search(context: Context, variables: Mapping[str, Any]) -> Answer | None:
    given = variables.get("q")
    paging = page_variables(variables, ("q", "filter", "orderBy", "first", "after"), DEFAULT_FIRST)
    if (given is not None and not isinstance(given, str)) or paging is None:
        return None
    first, after = paging
    session = context.session
    try:
        text = parse_search(given)
        criteria = WorkCriteria(
            text,
            work_filter(variables.get("filter")),
            chosen_order(
                _order(variables.get("orderBy")), text, WorkOrder.RELEVANCE, WorkOrder.YEAR
            ),
            context.settings.search_window,
        )
        await search.check_work_filter(session, criteria)
        request = configured_page(
            context.settings,
            search.work_ordering(session, criteria),
            first=first,
            after=after,
            last=None,
            before=None,
        )
    except (Declined, BadUserInput):
        return None
    page, total, facets = await search.works_with_facets(
        session, criteria, request, {facet: size for facet, (_, size, _) in FACETS.items()}
    )
    works = WorkRepository(session)
    listed = await works.listed(page.items)
    authors = await works.listed_authors(list(listed))
    if any(a.merged_into_id is not None for shown in authors.values() for a in shown):
        return None  # the general path shows the survivor
    limit = context.settings.max_authors_per_work
    shown = [
        (cursor, _work(work_id, listed[work_id], authors[work_id][:limit]))
        for work_id, cursor in zip(page.items, page.cursors, strict=True)
        if work_id in listed  # deleted since the index answered: left out, as the general path
    ]
    connection = {
        "totalCount": min(total, criteria.window),
        "countsAreExact": total <= criteria.window,
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "endCursor": shown[-1][0] if shown else None,
        },
        "edges": [{"node": node} for _, node in shown],
        "facets": {
            name: [_bucket(bucket, node) for bucket in facets[facet]]
            for facet, (name, _, node) in FACETS.items()
        },
    }
    return {"works": connection}


def _work(work_id: int, work: ListedWork, authors: list[ListedAuthor]) -> Answer:
    return {
        "id": to_global_id("Work", work_id),
        "title": work.title,
        "type": WorkType(work.type).name,
        "publicationYear": work.publication_year,
        "citedByCount": work.cited_by_count,
        "venue": None
        if work.venue_id is None
        else {"id": to_global_id("Venue", work.venue_id), "displayName": work.venue_name},
        "authorships": [
            {
                "position": a.position,
                "author": {
                    "id": to_global_id("Researcher", a.researcher_id),
                    "displayName": a.display_name,
                },
            }
            for a in authors
        ],
    }


def _bucket(bucket: Bucket, node: str) -> Answer:
    value = to_global_id(node, int(bucket.value)) if node else bucket.value
    return {"value": value, "label": bucket.label, "count": bucket.count}


WORKS_SEARCH = Plan(
    document="works_search",
    operation_name="WorksSearch",
    answer=works_search,
    admitted_by=("first",),
)
