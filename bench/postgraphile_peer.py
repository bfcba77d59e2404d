"""PostGraphile 5 as a peer in ``bench/profile_page.py --peer postgraphile``.

PostGraphile compiles GraphQL to SQL (Grafast plans, one statement per request for this page).
It serves the same database with what ``bench/postgraphile/peer.sql`` adds (computed columns
for the current trust snapshot, the works newest first, the top topics and the close
collaborators, with our orderings), as one Node 22 process (Node comes from the npm registry as
the ``node`` package, pinned in ``bench/postgraphile/package-lock.json``), and answers
``bench/postgraphile/profile_page.graphql``: the same blocks as our profile page in its own
schema. Before measuring, the bench checks on sample researchers that both carry the same
values (``same_page``)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import orjson

PEER_DIR = Path(__file__).resolve().parent / "postgraphile"
QUERY_PATH = PEER_DIR / "profile_page.graphql"
NODE = PEER_DIR / "node_modules" / ".bin" / "node"
CLI = PEER_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"


def ensure_installed() -> None:
    """``npm ci`` in ``bench/postgraphile`` unless its packages are there."""
    if NODE.exists() and CLI.exists():
        return
    print("installing PostGraphile 5 and Node 22 (npm ci in bench/postgraphile) ...", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(PEER_DIR)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare_database(url: str) -> None:
    """Add the computed columns PostGraphile serves the page with (idempotent)."""

    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute((PEER_DIR / "peer.sql").read_text())
        finally:
            await connection.close()

    asyncio.run(run())


def command() -> list[str]:
    return [str(NODE), str(CLI), "-C", str(PEER_DIR / "graphile.config.mjs")]


def environment(database_url: str, port: int) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "PORT": str(port), "NODE_ENV": "production"}


def request_body(researcher_id: int) -> bytes:
    return orjson.dumps(
        {
            "query": QUERY_PATH.read_text(),
            "operationName": "ProfilePage",
            "variables": {"rowId": str(researcher_id)},
        }
    )


def same_page(ours: dict[str, Any], peer: dict[str, Any]) -> str | None:
    """Where the peer's page differs from ours in what a reader sees (names, counts, scores,
    the works, topics and collaborators in their order), or None."""
    r, p = ours["data"]["researcher"], (peer.get("data") or {}).get("researcherByRowId")
    if p is None:
        return f"no researcher: {orjson.dumps(peer)[:300]!r}"
    trust, peer_trust = r["trust"] or {}, p["currentTrust"] or {}
    works, peer_works = r["works"], p["recentWorks"]
    pairs = {
        "displayName": (r["displayName"], p["displayName"]),
        "affiliation": (
            (r["affiliation"] or {}).get("displayName"),
            (p["institutionByAffiliationId"] or {}).get("displayName"),
        ),
        "counts": (
            list(r["counts"].values()),
            [
                p["worksCount"],
                p["followersCount"],
                p["topicsCount"],
                p["closeCollaboratorsCount"],
            ],
        ),
        "trust": (trust.get("score"), peer_trust.get("score")),
        "factors": (trust.get("factors"), _factors(peer_trust.get("factors"))),
        "works": (
            [works["totalCount"], works["pageInfo"]["hasNextPage"]],
            [peer_works["totalCount"], peer_works["pageInfo"]["hasNextPage"]],
        ),
        "titles": (
            [(e["node"]["title"], e["node"]["abstract"]) for e in works["edges"]],
            [(e["node"]["title"], e["node"]["abstract"]) for e in peer_works["edges"]],
        ),
        "topics": (
            [e["node"]["displayName"] for e in r["topics"]["edges"]],
            [e["node"]["displayName"] for e in p["topTopics"]["edges"]],
        ),
        "collaborators": (
            [(e["node"]["displayName"], e["weight"]) for e in r["closeCollaborators"]["edges"]],
            [
                (e["node"]["coauthor"]["displayName"], e["node"]["weight"])
                for e in p["closeCollaborations"]["edges"]
            ],
        ),
    }
    for name, (mine, theirs) in pairs.items():
        if mine != theirs:
            return f"{name}: {mine!r:.200} != {theirs!r:.200}"
    return None


def _factors(value: Any) -> Any:
    """PostGraphile answers a jsonb column as JSON; keep our field order to compare."""
    if not isinstance(value, list):
        return value
    return [{"key": f["key"], "points": f["points"], "detail": f["detail"]} for f in value]
