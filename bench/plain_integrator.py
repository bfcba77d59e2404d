"""The integrator document (``service/documents/integrator_nested.graphql``) written by hand for
``bench/plain_profile_app.py``: one prepared statement on a pooled asyncpg connection, the
answer built as dicts and written with orjson, no GraphQL, ORM or transaction.

The statement is the compiled plan's own (``service.researchers.integrator_rows``): a hand-written
endpoint could not do with fewer round trips, so the ratio shows what the service adds around
the statement (its middleware, view, session and assembly), not a difference of SQL."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.db.paging import encode_cursor
from service.graphql.relay import to_global_id as global_id
from service.researchers.integrator_rows import INTEGRATOR_POSTGRESQL

FIRST_DEFAULT = 50
MAX_FIRST = 100
AUTHORS_SHOWN = 100
TOPICS_SHOWN = 3


def topic_edges(topics: list[tuple[int, str]]) -> dict[str, Any]:
    return {"edges": [{"node": {"id": global_id("Topic", t), "displayName": n}} for t, n in topics]}


def authorship(row: tuple[Any, ...]) -> dict[str, Any]:
    position, author, name, orcid, score, level, topics, institutions = row
    return {
        "position": position,
        "author": {
            "id": global_id("Researcher", author),
            "displayName": name,
            "orcid": orcid,
            "trust": None if score is None else {"score": score, "verificationLevel": level},
            "topics": topic_edges(topics),
        },
        "institutions": [
            {"id": global_id("Institution", i), "displayName": n, "rorId": r, "countryCode": c}
            for i, n, r, c in institutions
        ],
    }


async def integrator(connection: asyncpg.Connection, pk: int, first: int) -> dict[str, Any] | None:
    row = await connection.fetchrow(
        INTEGRATOR_POSTGRESQL, pk, first + 1, TOPICS_SHOWN, AUTHORS_SHOWN, TOPICS_SHOWN
    )
    if row is None or row["merged_into_id"] is not None:
        return None
    works = row["works"]
    page = works[:first]
    edges = [
        {
            "node": {
                "id": global_id("Work", w[0]),
                "title": w[2],
                "publicationYear": w[3],
                "doi": w[4],
                "openalexId": w[5],
                "citedByCount": w[6],
                "topics": topic_edges(w[7]),
                "authorships": [authorship(a) for a in w[8]],
            }
        }
        for w in page
    ]
    return {
        "id": global_id("Researcher", row["id"]),
        "displayName": row["display_name"],
        "works": {
            "totalCount": row["works_total"],
            "pageInfo": {
                "hasNextPage": len(works) > first,
                "endCursor": encode_cursor("works", (page[-1][1], page[-1][0])) if page else None,
            },
            "edges": edges,
        },
    }
