"""The compiled plan of the integrator document (``service/documents/integrator_nested.graphql``):
a researcher's works, their topics, authors with trust and topics, and institutions, from one
PostgreSQL statement whatever ``$first`` is (``integrator_rows.py``), built field for field in the
document's order as the general path would answer it.

Its cost limit depends on ``$first``, so each page size is admitted on its own
(``Plan.admitted_by``). It answers a well-formed id of an existing, unmerged researcher with a
page size the general path accepts; anything else (errors to report, a merged record's
survivor), and every request on SQLite, goes to the general path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.db.paging import encode_cursor
from service.db.repository import is_postgresql
from service.errors import BadUserInput
from service.graphql.context import Context
from service.graphql.plans import Answer, Plan
from service.graphql.relay import from_global_id, to_global_id
from service.researchers.integrator_rows import IntegratorRows
from service.works.repository import BY_RECENCY

DEFAULT_FIRST = 50
"""The document's default for ``$first``."""
TOPICS_SHOWN = 3
"""``topics(first: 3)`` of every work and author in the document."""


async def integrator_nested(context: Context, variables: Mapping[str, Any]) -> Answer | None:
    given, first = variables.get("id"), variables.get("first", DEFAULT_FIRST)
    if not isinstance(given, str) or not variables.keys() <= {"id", "first"}:
        return None
    if isinstance(first, bool) or not isinstance(first, int):
        return None
    if not 1 <= first <= context.settings.max_page_size or not is_postgresql(context.session):
        return None
    try:
        _, researcher_id = from_global_id(given, "Researcher")
    except BadUserInput:
        return None
    found = await IntegratorRows(context.session).read(
        researcher_id,
        works_limit=first + 1,
        work_topics=TOPICS_SHOWN,
        authors=context.settings.max_authors_per_work,
        author_topics=TOPICS_SHOWN,
    )
    if found is None or found.merged_into_id is not None:
        return None
    shown = found.works[:first]
    last = shown[-1] if shown else None
    works = {
        "totalCount": found.works_total,
        "pageInfo": {
            "hasNextPage": len(found.works) > first,
            "endCursor": None
            if last is None
            else encode_cursor(BY_RECENCY.name, (last[1], last[0])),
        },
        "edges": [{"node": _work(*row)} for row in shown],
    }
    researcher = {
        "id": to_global_id("Researcher", found.researcher_id),
        "displayName": found.display_name,
        "works": works,
    }
    return {"researcher": researcher}


def _work(
    work_id: int,
    _year_key: int,
    title: str,
    year: int | None,
    doi: str | None,
    openalex_id: str | None,
    cited_by_count: int,
    topics: Sequence[tuple[int, str]],
    authorships: Sequence[tuple[Any, ...]],
) -> Answer:
    return {
        "id": to_global_id("Work", work_id),
        "title": title,
        "publicationYear": year,
        "doi": doi,
        "openalexId": openalex_id,
        "citedByCount": cited_by_count,
        "topics": _topics(topics),
        "authorships": [_authorship(*row) for row in authorships],
    }


def _authorship(
    position: int,
    author_id: int,
    name: str,
    orcid: str | None,
    score: int | None,
    level: str | None,
    topics: Sequence[tuple[int, str]],
    institutions: Sequence[tuple[int, str, str | None, str | None]],
) -> Answer:
    return {
        "position": position,
        "author": {
            "id": to_global_id("Researcher", author_id),
            "displayName": name,
            "orcid": orcid,
            "trust": None if score is None else {"score": score, "verificationLevel": level},
            "topics": _topics(topics),
        },
        "institutions": [
            {
                "id": to_global_id("Institution", institution_id),
                "displayName": institution_name,
                "rorId": ror_id,
                "countryCode": country_code,
            }
            for institution_id, institution_name, ror_id, country_code in institutions
        ],
    }


def _topics(rows: Sequence[tuple[int, str]]) -> Answer:
    return {
        "edges": [
            {"node": {"id": to_global_id("Topic", topic_id), "displayName": name}}
            for topic_id, name in rows
        ]
    }


INTEGRATOR_NESTED = Plan(
    document="integrator_nested",
    operation_name="IntegratorNested",
    answer=integrator_nested,
    admitted_by=("first",),
)
