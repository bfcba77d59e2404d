"""The compiled plan of the search box (``service/documents/search_box.graphql``): the ranked
page of hits from the search index, exactly as the general path asks for it, then what each
kind shows from one statement per kind on the page; the answer built field for field in the
document's order, as the general path would answer it.

Its statements are the general path's (the index's, then each kind's rows), so both work on
either database; what the plan saves is GraphQL execution over a union and ORM entities for
researchers and works. Its cost limit depends on ``$first``, so each page size is admitted on
its own. A variable it does not expect, a text the general path refuses, or a cursor it cannot
read goes to the general path, which reports the error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.errors import BadUserInput
from service.graphql.context import Context
from service.graphql.plans import Answer, Plan, page_variables
from service.graphql.relay import configured_page, to_global_id
from service.institutions.repository import InstitutionRepository
from service.researchers.repository import ResearcherRepository
from service.search.criteria import HitKind
from service.search.service import search
from service.search.text import parse_search
from service.topics.repository import TopicRepository
from service.works.repository import VenueRepository, WorkRepository

DEFAULT_FIRST = 8
"""The document's default for ``$first``."""


async def search_box(context: Context, variables: Mapping[str, Any]) -> Answer | None:
    given = variables.get("text")
    paging = page_variables(variables, ("text", "first", "after"), DEFAULT_FIRST)
    if not isinstance(given, str) or paging is None:
        return None
    first, after = paging
    session = context.session
    try:
        text = parse_search(given, argument="text")
        request = configured_page(
            context.settings,
            search.index(session).everything_ordering(),
            first=first,
            after=after,
            last=None,
            before=None,
        )
    except BadUserInput:
        return None
    results = await search.everything(session, text, request, context.settings.search_window)
    page = results.page
    by_kind: dict[HitKind, list[int]] = {}
    for hit in page.items:
        by_kind.setdefault(hit.kind, []).append(hit.id)
    shown: dict[tuple[HitKind, int], Answer] = {}
    for kind, ids in by_kind.items():
        shown |= {(kind, i): node for i, node in (await _nodes(context, kind, ids)).items()}
    edges = [
        {"cursor": cursor, "node": shown[hit.kind, hit.id]}
        for hit, cursor in zip(page.items, page.cursors, strict=True)
        if (hit.kind, hit.id) in shown  # deleted since the index answered: left out
    ]
    page_info = {
        "hasNextPage": page.has_next_page,
        "endCursor": page.cursors[-1] if page.cursors else None,
    }
    return {"search": {"pageInfo": page_info, "edges": edges}}


async def _nodes(context: Context, kind: HitKind, ids: list[int]) -> dict[int, Answer]:
    """What the document shows of each hit of one kind, by id (one statement)."""
    session = context.session
    if kind is HitKind.RESEARCHER:
        listed = await ResearcherRepository(session).listed(ids)
        return {
            i: {
                "__typename": "Researcher",
                "id": to_global_id("Researcher", i),
                "displayName": r.display_name,
                "affiliation": None
                if r.affiliation_name is None
                else {"displayName": r.affiliation_name},
                "counts": {"works": r.works_count},
            }
            for i, r in listed.items()
        }
    if kind is HitKind.WORK:
        works = await WorkRepository(session).listed(ids)
        return {
            i: {
                "__typename": "Work",
                "id": to_global_id("Work", i),
                "title": w.title,
                "publicationYear": w.publication_year,
            }
            for i, w in works.items()
        }
    if kind is HitKind.TOPIC:
        topics = await TopicRepository(session).list_by_ids(ids)
        return {
            t.id: {
                "__typename": "Topic",
                "id": to_global_id("Topic", t.id),
                "displayName": t.display_name,
                "level": t.level.name,
            }
            for t in topics
        }
    if kind is HitKind.INSTITUTION:
        institutions = await InstitutionRepository(session).list_by_ids(ids)
        return {
            i.id: {
                "__typename": "Institution",
                "id": to_global_id("Institution", i.id),
                "displayName": i.display_name,
                "countryCode": i.country_code,
            }
            for i in institutions
        }
    venues = await VenueRepository(session).list_by_ids(ids)
    return {
        v.id: {
            "__typename": "Venue",
            "id": to_global_id("Venue", v.id),
            "displayName": v.display_name,
            "type": v.type.name,
        }
        for v in venues
    }


SEARCH_BOX = Plan(
    document="search_box",
    operation_name="SearchBox",
    answer=search_box,
    admitted_by=("first",),
)
