"""The researcher search (``service/documents/researcher_search.graphql``) written by hand for
``bench/plain_profile_app.py``: one prepared statement on a pooled asyncpg connection (the
matching researchers ranked, the page cut and counted, then joined to what it shows), the answer
built as dicts and written with orjson; no GraphQL, ORM or transaction.

It matches and ranks as the service's search index does on PostgreSQL
(``service.search.dialects``: pg_trgm's word similarity over the folded name, and of each of
the text's ``name_words``, exact and prefix matches first, ties by works then id), with the
service's own folding of the text (``service.search.text``), so both find the same researchers
in the same order and the ratio shows what the service adds around the SQL. It answers a first
page of a name search, the document's default of 10; the bench sends nothing else."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.db.paging import encode_cursor
from service.graphql.relay import to_global_id as global_id
from service.search.dialects import search_parameters
from service.search.text import parse_search

PAGE_SIZE = 10
"""The document's ``$first`` default."""
ORDERING = "r.relevance"
"""The name of the index's relevance ordering, which its cursors carry."""

SEARCH_SQL = """
WITH matched AS (
    SELECT id, works_count,
           CAST(CASE WHEN search_name = $1 THEN 3
                     WHEN search_name LIKE $2 THEN 2
                     WHEN ' ' || search_name || ' ' LIKE $3 THEN 1
                     ELSE 0 END
                + word_similarity($1, search_name) AS DOUBLE PRECISION) AS score
    FROM researchers
    WHERE merged_into_id IS NULL AND $1 <% search_name{words}
), page AS (
    SELECT id, works_count, score, count(*) OVER () AS total
    FROM matched
    ORDER BY score DESC, works_count DESC, id DESC
    LIMIT $4
)
SELECT p.id, p.score, p.works_count, p.total, r.display_name, i.display_name AS affiliation
FROM page AS p
JOIN researchers AS r ON r.id = p.id
LEFT JOIN institutions AS i ON i.id = r.affiliation_id
ORDER BY p.score DESC, p.works_count DESC, p.id DESC
"""


async def researcher_search(connection: asyncpg.Connection, given: str) -> dict[str, Any]:
    search = parse_search(given)
    if search is None or search.finds_nothing:
        raise ValueError(f"the bench sends names that find someone, not {given!r}")
    values = search_parameters(search)
    words = search.name_words()
    statement = SEARCH_SQL.replace(
        "{words}", "".join(f" AND ${5 + i} <<% search_name" for i in range(len(words)))
    )
    rows = await connection.fetch(
        statement,
        values["q"],
        values["q_prefix"],
        values["q_words"],
        PAGE_SIZE + 1,
        *words,
    )
    shown = rows[:PAGE_SIZE]
    edges = [
        {
            "cursor": encode_cursor(ORDERING, (row["score"], row["works_count"], row["id"])),
            "node": {
                "id": global_id("Researcher", row["id"]),
                "displayName": row["display_name"],
                "affiliation": None
                if row["affiliation"] is None
                else {"displayName": row["affiliation"]},
                "counts": {"works": row["works_count"]},
            },
        }
        for row in shown
    ]
    return {
        "totalCount": rows[0]["total"] if rows else 0,
        "pageInfo": {
            "hasNextPage": len(rows) > PAGE_SIZE,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "edges": edges,
    }
