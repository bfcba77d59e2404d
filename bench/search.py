"""Search at a million researchers: four queries through the API against the same SQL run
directly.

Data: the co-author graph benchmark's database (``bench.database.ensure_graph_database``,
default 1,000,000 researchers and 2,000,000 works, built or reused; its synthetic titles and
abstracts are drawn from a vocabulary of about 110 words, so any one word is in most
abstracts: far less selective than real text).

The queries, each with ``--variants`` (default 100) different values drawn from the database:

- ``name``: ``researcher_search.graphql`` (first 10, totalCount) for a researcher's name;
- ``misspelled``: the same for the name with two letters of its longest word swapped;
- ``works``: ``works_search.graphql`` (first 20, with its five facets) for two words of a
  topic's name, filtered to works of that topic since 2010;
- ``search box``: ``search_box.graphql`` (first 8) for a family name;
- ``broad word``: ``works_search.graphql`` for one word of a topic's name, without a filter:
  a word most works hold (the works' window, ``BZPEER_SEARCH_WINDOW``, ranks and counts the
  most cited 1,000 of them);
- ``works list``: ``works_search.graphql`` without text, works since a year (1990-2020), by
  year or by citations: the results page before anything is typed.

Ours: ``bzpeer serve --api-only`` (one uvicorn process, production settings), one client,
each variant once per round after a warm-up pass, ``--rounds`` rounds (default 3). The floor:
the statements our service ran for the same request, recorded once in process, run directly
with asyncpg (prepared, with the session settings of the service's connections) and the rows
turned into JSON by orjson. Printed per query: p50 and p99 of both, and floor/ours at the
median (1.0: as fast as the floor; the goal is 0.5), then each goal (p99 <= 50 ms through the
API, ratio >= 0.5).

Run: ``uv run python bench/search.py`` (``--quick``: 100k researchers, 1 round).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import event
from starlette.testclient import TestClient

from bench.database import ensure_graph_database
from bench.graph import api_server, met, percentile, settings_for
from service.app import create_app
from service.db.engine import API_SETTINGS
from service.documents import document
from service.graphql.relay import to_global_id
from service.search.dialects import POSTGRES_SETTINGS

GOAL_P99_MS = 50.0
GOAL_RATIO = 0.5
QUERIES = ("name", "misspelled", "works", "search box", "broad word", "works list")


@dataclass
class Request:
    document: str
    variables: dict[str, Any]
    statements: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    """What our service ran for it (recorded once), for the floor."""


@dataclass
class Timings:
    ours: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    results: list[int] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--researchers", type=int, help="default 1,000,000 (--quick: 100,000)")
    parser.add_argument("--works", type=int, help="default 2 per researcher")
    parser.add_argument("--rounds", type=int, help="default 3 (--quick: 1)")
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    args.researchers = args.researchers or (100_000 if args.quick else 1_000_000)
    args.works = args.works or 2 * args.researchers
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


def misspelled(name: str, rng: random.Random) -> str:
    """Two letters after the first swapped in the name's longest word."""
    words = name.split()
    longest = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[longest]
    if len(word) >= 3:
        i = rng.randrange(1, len(word) - 1)
        words[longest] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return " ".join(words)


async def sample(url: str, count: int, rng: random.Random) -> dict[str, list[Request]]:
    connection = await asyncpg.connect(url)
    try:
        names = [
            r["display_name"]
            for r in await connection.fetch(
                "SELECT display_name FROM researchers WHERE works_count > 0 "
                "ORDER BY md5(id::text) LIMIT $1",
                count,
            )
        ]
        topics = await connection.fetch(
            "SELECT t.id, t.display_name FROM topics AS t WHERE t.level = 'TOPIC' "
            "ORDER BY md5(t.id::text) LIMIT $1",
            count,
        )
    finally:
        await connection.close()
    researcher_search = document("researcher_search.graphql")
    works_search = document("works_search.graphql")
    search_box = document("search_box.graphql")
    requests: dict[str, list[Request]] = {q: [] for q in QUERIES}
    for name in names:
        requests["name"].append(Request(researcher_search, {"q": name, "first": 10}))
        requests["misspelled"].append(
            Request(researcher_search, {"q": misspelled(name, rng), "first": 10})
        )
        requests["search box"].append(Request(search_box, {"text": name.rpartition(" ")[2]}))
    for topic in topics:
        words = rng.sample(topic["display_name"].split(), 2)
        topic_filter = {"yearFrom": 2010, "topic": to_global_id("Topic", topic["id"])}
        requests["works"].append(
            Request(works_search, {"q": " ".join(words).lower(), "filter": topic_filter})
        )
        word = rng.choice([w for w in topic["display_name"].split() if len(w) > 3] or words)
        requests["broad word"].append(Request(works_search, {"q": word.lower()}))
        since = {"yearFrom": rng.randint(1990, 2020)}
        order = rng.choice(["YEAR", "CITATIONS"])
        requests["works list"].append(Request(works_search, {"filter": since, "orderBy": order}))
    return requests


def record_statements(url: str, requests: dict[str, list[Request]]) -> None:
    """Run each request once in process and keep the statements it ran (the floor's SQL)."""
    app = create_app(settings_for(url))
    with TestClient(app) as client:
        recording: list[tuple[str, tuple[Any, ...]]] = []

        def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            recording.append((statement, tuple(parameters or ())))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
        payloads = (
            (r, {"query": r.document, "variables": r.variables})
            for rs in requests.values()
            for r in rs
        )
        for request, payload in payloads:
            for attempt in (1, 2):
                recording.clear()
                body = client.post("/graphql", json=payload).json()
                # Once, on a cold page cache (a database just built or migrated), a statement
                # can outlast the timeout; the warm-up and the timed rounds come after.
                if attempt == 1 and _timed_out(body):
                    continue
                if "errors" in body:
                    raise RuntimeError(body["errors"])
                break
            request.statements = list(recording)


def _timed_out(body: dict[str, Any]) -> bool:
    return any(e.get("extensions", {}).get("code") == "TIMEOUT" for e in body.get("errors", []))


def results_of(body: dict[str, Any]) -> int:
    data = next(iter(body["data"].values()))
    return len(data["edges"])


def through_api(base: str, requests: Sequence[Request], timings: Timings, timed: bool) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        for request in requests:
            payload = {"query": request.document, "variables": request.variables}
            started = time.perf_counter()
            response = client.post("/graphql", json=payload)
            elapsed = (time.perf_counter() - started) * 1000
            body = response.json()
            if "errors" in body:
                raise RuntimeError(body["errors"])
            if timed:
                timings.ours.append(elapsed)
                timings.results.append(results_of(body))


async def floor(url: str, requests: Sequence[Request], timings: Timings, timed: bool) -> None:
    # The sessions' settings of the service's own connections: the same statements, run alike.
    settings = {"jit": "off", **API_SETTINGS, **POSTGRES_SETTINGS}
    connection = await asyncpg.connect(url, server_settings=settings)
    try:
        for request in requests:
            started = time.perf_counter()
            answers = []
            for statement, parameters in request.statements:
                rows = await connection.fetch(statement, *parameters)
                answers.append([tuple(row) for row in rows])
            orjson.dumps(answers, default=str)
            if timed:
                timings.floor.append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    url = asyncio.run(ensure_graph_database(args.researchers, args.works))
    print(f"search bench: {args.researchers:,} researchers, {args.works:,} works ({url})")
    requests = asyncio.run(sample(url, args.variants, rng))
    record_statements(url, requests)
    timings = {query: Timings() for query in QUERIES}
    with api_server(url, args.port) as base:
        for query in QUERIES:  # warm-up: caches, prepared statements, the page cache
            through_api(base, requests[query], timings[query], timed=False)
            asyncio.run(floor(url, requests[query], timings[query], timed=False))
        for round_number in range(1, args.rounds + 1):
            for query in QUERIES:
                through_api(base, requests[query], timings[query], timed=True)
                asyncio.run(floor(url, requests[query], timings[query], timed=True))
            print(f"round {round_number} done")
    goals: list[str] = []
    ratios: list[float] = []
    for query in QUERIES:
        t = timings[query]
        ours_p50, ours_p99 = percentile(t.ours, 50), percentile(t.ours, 99)
        floor_p50, floor_p99 = percentile(t.floor, 50), percentile(t.floor, 99)
        ratio = floor_p50 / ours_p50
        ratios.append(ratio)
        statements = statistics.median(len(r.statements) for r in requests[query])
        print(
            f"{query:>12}: ours p50 {ours_p50:6.1f} ms p99 {ours_p99:6.1f} ms | floor p50 "
            f"{floor_p50:6.1f} ms p99 {floor_p99:6.1f} ms | ratio {ratio:.2f} | "
            f"{statements:.0f} statements, {statistics.fmean(t.results):.1f} results shown"
        )
        goals.append(
            f"{query} p99 {ours_p99:.1f} ms ({met(ours_p99 <= GOAL_P99_MS)}), "
            f"ratio {ratio:.2f} ({met(ratio >= GOAL_RATIO)})"
        )
    print("goals (p99 <= 50 ms, ratio >= 0.5): " + "; ".join(goals))
    print(f"floor/ours ratio (lowest): {min(ratios):.2f}")


if __name__ == "__main__":
    main()
