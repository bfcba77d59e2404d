"""The compiled plan of the researcher search (``service/documents/researcher_search.graphql``):
the page of ids from the search index, exactly as the general path asks for it, and what each
researcher shows from one more statement; the answer built field for field in the document's
order, as the general path would answer it.

Its statements are the general path's (the index's page, with the total counted in the same
statement on a first page with text, or apart otherwise; then the researchers), so both work on
either database; what the plan saves is GraphQL execution and ORM entities. Its cost limit
depends on ``$first``, so each page size is admitted on its own. A variable it does not expect,
a search the general path refuses (too long) or a cursor it cannot read goes to the general
path, which reports the error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.errors import BadUserInput
from service.graphql.context import Context
from service.graphql.plans import Answer, Plan, page_variables
from service.graphql.relay import configured_page, to_global_id
from service.researchers.repository import ResearcherRepository
from service.search.criteria import (
    ResearcherCriteria,
    ResearcherFilter,
    ResearcherOrder,
    chosen_order,
)
from service.search.service import search
from service.search.text import parse_search

DEFAULT_FIRST = 10
"""The document's default for ``$first``."""


async def researcher_search(context: Context, variables: Mapping[str, Any]) -> Answer | None:
    given = variables.get("q")
    paging = page_variables(variables, ("q", "first", "after"), DEFAULT_FIRST)
    if not isinstance(given, str) or paging is None:
        return None
    first, after = paging
    session = context.session
    try:
        text = parse_search(given)
        order = chosen_order(None, text, ResearcherOrder.RELEVANCE, ResearcherOrder.NAME)
        criteria = ResearcherCriteria(text, ResearcherFilter(), order)
        ordering = search.researcher_ordering(session, criteria)
        request = configured_page(
            context.settings, ordering, first=first, after=after, last=None, before=None
        )
    except BadUserInput:
        return None
    results = await search.researchers(session, criteria, request)
    page = results.page
    total = await results.count()
    listed = await ResearcherRepository(session).listed(page.items)
    edges: list[Answer] = []
    for researcher_id, cursor in zip(page.items, page.cursors, strict=True):
        row = listed.get(researcher_id)
        if row is None:  # deleted since the index answered: left out, as the general path does
            continue
        node = {
            "id": to_global_id("Researcher", researcher_id),
            "displayName": row.display_name,
            "affiliation": None
            if row.affiliation_name is None
            else {"displayName": row.affiliation_name},
            "counts": {"works": row.works_count},
        }
        edges.append({"cursor": cursor, "node": node})
    connection = {
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "edges": edges,
    }
    return {"researchers": connection}


RESEARCHER_SEARCH = Plan(
    document="researcher_search",
    operation_name="ResearcherSearch",
    answer=researcher_search,
    admitted_by=("first",),
)
