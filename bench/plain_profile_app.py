"""The baseline of ``bench/profile_page.py``: the contract profile page written by hand.

A Starlette app (the framework our service runs on) with one route, ``POST /graphql``. Given
the integrator document's operation name it answers that (``bench/plain_integrator.py``), given
the researcher search's that (``bench/plain_search.py``);
otherwise it reads ``variables.id`` from the same request body the GraphQL endpoint gets,
runs four prepared statements on one pooled asyncpg connection (researcher with affiliation,
current trust and works total; a page of works with venues; top topics; close collaborators
with their trust) and writes, with orjson, the document our GraphQL endpoint answers to
``service/documents/profile_page.graphql``: same fields, same order, same values, same global ids
and cursors. No GraphQL, no ORM, no middleware, no transaction. The bench checks on sample ids
that both answers are equal before it measures anything.

Run it like the service: ``DATABASE_URL=postgresql://... uvicorn
bench.plain_profile_app:create_app --factory --workers 2``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import plain_integrator, plain_search
from service.search.dialects import POSTGRES_SETTINGS

PAGE_SIZE = 10
"""``first: 10`` of the contract query, for works, topics and close collaborators."""
POOL_SIZE = 10
"""Connections per worker process, as the service's ``db_pool_size``."""
STATEMENT_TIMEOUT_MS = "5000"

RESEARCHER_SQL = """
SELECT r.id, r.display_name, r.description, r.orcid, r.open_to_collaborate, r.cluster_id,
       r.works_count, r.followers_count, r.topics_count, r.close_collaborators_count,
       i.id AS affiliation_id, i.display_name AS affiliation_name,
       t.score, t.band, t.verification_level, t.claimed, t.computed_at, t.factors,
       (SELECT count(*) FROM authorships AS a WHERE a.researcher_id = r.id) AS works_total
FROM researchers AS r
LEFT JOIN institutions AS i ON i.id = r.affiliation_id
LEFT JOIN trust_snapshots AS t ON t.researcher_id = r.id AND t.is_current
WHERE r.id = $1
"""
WORKS_SQL = """
SELECT w.id, w.type, w.publication_year, coalesce(w.publication_year, 0) AS year_key,
       v.id AS venue_id, v.display_name AS venue_name, w.title, w.abstract, w.doi, w.arxiv_id
FROM authorships AS a
JOIN works AS w ON w.id = a.work_id
LEFT JOIN venues AS v ON v.id = w.venue_id
WHERE a.researcher_id = $1
ORDER BY coalesce(w.publication_year, 0) DESC, w.id DESC
LIMIT $2
"""
TOPICS_SQL = """
SELECT t.id, t.display_name
FROM researcher_topics AS rt JOIN topics AS t ON t.id = rt.topic_id
WHERE rt.researcher_id = $1
ORDER BY rt.work_count DESC, rt.topic_id DESC
LIMIT $2
"""
COLLABORATORS_SQL = """
SELECT c.id, c.display_name, e.weight, t.score, t.band
FROM coauthor_edges AS e
JOIN researchers AS c ON c.id = e.coauthor_id
LEFT JOIN trust_snapshots AS t ON t.researcher_id = c.id AND t.is_current
WHERE e.researcher_id = $1 AND c.cluster_id = $2
ORDER BY e.weight DESC, e.coauthor_id DESC
LIMIT $3
"""


def global_id(type_name: str, pk: int) -> str:
    """As ``service.graphql.relay.to_global_id``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def works_cursor(year_key: int, work_id: int) -> str:
    """As ``service.db.paging.encode_cursor("works", (year, id))``."""
    raw = orjson.dumps(["works", year_key, work_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def researcher_pk(global_value: object) -> int | None:
    try:
        decoded = base64.b64decode(str(global_value), validate=True).decode()
        type_name, _, raw = decoded.partition(":")
        pk = int(raw)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    return pk if type_name == "Researcher" and pk > 0 else None


def trust_block(row: asyncpg.Record) -> dict[str, Any] | None:
    if row["score"] is None:
        return None
    computed_at: dt.datetime = row["computed_at"]
    return {
        "score": row["score"],
        "band": row["band"],
        "verificationLevel": row["verification_level"],
        "claimed": row["claimed"],
        "computedAt": computed_at.isoformat(),
        "factors": [
            {"key": f["key"], "points": f["points"], "detail": f["detail"]}
            for f in orjson.loads(row["factors"])
        ],
    }


def works_block(rows: list[asyncpg.Record], total: int) -> dict[str, Any]:
    page = rows[:PAGE_SIZE]
    edges = [
        {
            "cursor": works_cursor(w["year_key"], w["id"]),
            "node": {
                "id": global_id("Work", w["id"]),
                "type": w["type"],
                "publicationYear": w["publication_year"],
                "venue": None
                if w["venue_id"] is None
                else {
                    "id": global_id("Venue", w["venue_id"]),
                    "displayName": w["venue_name"],
                },
                "title": w["title"],
                "abstract": w["abstract"],
                "doi": w["doi"],
                "arxivId": w["arxiv_id"],
            },
        }
        for w in page
    ]
    return {
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": len(rows) > PAGE_SIZE,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "edges": edges,
    }


def collaborator_edge(row: asyncpg.Record) -> dict[str, Any]:
    trust = None if row["score"] is None else {"score": row["score"], "band": row["band"]}
    return {
        "weight": row["weight"],
        "node": {
            "id": global_id("Researcher", row["id"]),
            "displayName": row["display_name"],
            "trust": trust,
        },
    }


async def profile(connection: asyncpg.Connection, pk: int) -> dict[str, Any] | None:
    r = await connection.fetchrow(RESEARCHER_SQL, pk)
    if r is None:
        return None
    works = await connection.fetch(WORKS_SQL, pk, PAGE_SIZE + 1)
    topics = await connection.fetch(TOPICS_SQL, pk, PAGE_SIZE)
    collaborators = []
    if r["cluster_id"] is not None:
        collaborators = await connection.fetch(COLLABORATORS_SQL, pk, r["cluster_id"], PAGE_SIZE)
    affiliation = None
    if r["affiliation_id"] is not None:
        affiliation = {
            "id": global_id("Institution", r["affiliation_id"]),
            "displayName": r["affiliation_name"],
        }
    return {
        "id": global_id("Researcher", r["id"]),
        "displayName": r["display_name"],
        "description": r["description"],
        "orcid": r["orcid"],
        "affiliation": affiliation,
        "openToCollaborate": r["open_to_collaborate"],
        "trust": trust_block(r),
        "counts": {
            "works": r["works_count"],
            "followers": r["followers_count"],
            "topics": r["topics_count"],
            "closeCollaborators": r["close_collaborators_count"],
        },
        "viewerFollows": False,
        "viewerCanClaim": False,
        "works": works_block(works, r["works_total"]),
        "topics": {
            "edges": [
                {"node": {"id": global_id("Topic", t["id"]), "displayName": t["display_name"]}}
                for t in topics
            ]
        },
        "closeCollaborators": {"edges": [collaborator_edge(c) for c in collaborators]},
    }


def json_response(document: object, status_code: int = 200) -> Response:
    return Response(orjson.dumps(document), status_code=status_code, media_type="application/json")


def not_found(message: str) -> Response:
    return json_response(
        {
            "data": {"researcher": None},
            "errors": [
                {"message": message, "path": ["researcher"], "extensions": {"code": "NOT_FOUND"}}
            ],
        }
    )


def create_app() -> Starlette:
    database_url = os.environ["DATABASE_URL"]
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(
            database_url,
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            server_settings={
                "statement_timeout": STATEMENT_TIMEOUT_MS,
                "application_name": "bzpeer-bench-plain",
                **POSTGRES_SETTINGS,  # the name search's trigram threshold, as the service's
            },
        )
        try:
            yield
        finally:
            await pool.close()

    async def profile_page(request: Request) -> Response:
        body = orjson.loads(await request.body())
        variables = body.get("variables") or {}
        if body.get("operationName") == "ResearcherSearch" and pool is not None:
            async with pool.acquire() as connection:
                found = await plain_search.researcher_search(connection, variables["q"])
            return json_response({"data": {"researchers": found}})
        given = variables.get("id")
        pk = researcher_pk(given)
        if pk is None or pool is None:
            return not_found(f"No researcher with id {given}.")
        async with pool.acquire() as connection:
            if body.get("operationName") == "IntegratorNested":
                first = variables.get("first", plain_integrator.FIRST_DEFAULT)
                researcher = await plain_integrator.integrator(connection, pk, first)
            else:
                researcher = await profile(connection, pk)
        if researcher is None:
            return not_found(f"No researcher with id {given}.")
        return json_response({"data": {"researcher": researcher}})

    async def readyz(_request: Request) -> Response:
        if pool is None:
            return json_response({"status": "starting"}, status_code=503)
        async with pool.acquire() as connection:
            await connection.fetchval("SELECT 1")
        return json_response({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", profile_page, methods=["POST"]), Route("/readyz", readyz)],
        lifespan=lifespan,
    )
