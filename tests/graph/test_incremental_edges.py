"""Co-author edges kept current by the ``works.added`` actor equal a rebuild from scratch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.graph.service import coauthor_graph
from service.researchers.repository import ResearcherRepository
from tests.events.population import add_work, researcher_ids, sql
from tests.support import create_database, drop_database, eventually, load_demo_into, settings_for
from workers.process import EmbeddedWorkers

Edges = dict[tuple[int, int], tuple[float, int]]


@pytest.fixture
def demo_settings(backend: str, database_dir: Path) -> Iterator[Settings]:
    url = create_database(backend, database_dir)
    load_demo_into(url)
    yield settings_for(url)
    drop_database(url)


EDGES = "SELECT researcher_id, coauthor_id, weight, joint_works FROM coauthor_edges"


def as_edges(rows: Iterable[Any]) -> Edges:
    return {(a, b): (float(w), int(n)) for a, b, w, n in rows}


def stored_edges(settings: Settings) -> Edges:
    return as_edges(sql(settings, EDGES))


def rebuilt_edges(settings: Settings) -> Edges:
    """The edges a full rebuild computes, read inside its transaction and rolled back."""

    async def rebuild() -> Edges:
        engine = create_engine(settings, maintenance=True)
        try:
            async with create_sessionmaker(engine)() as session:
                await coauthor_graph.rebuild_edges(session)
                edges = as_edges(await session.execute(text(EDGES)))
                await session.rollback()
                return edges
        finally:
            await engine.dispose()

    return asyncio.run(rebuild())


TOPICS = "SELECT researcher_id, topic_id, work_count FROM researcher_topics"


def stored_topics(settings: Settings) -> set[tuple[int, int, int]]:
    return {(r, t, n) for r, t, n in sql(settings, TOPICS)}


def rebuilt_topics(settings: Settings, researcher_ids: list[int]) -> set[tuple[int, int, int]]:
    """``researcher_topics`` as a recount from the works computes it, rolled back."""

    async def rebuild() -> set[tuple[int, int, int]]:
        engine = create_engine(settings, maintenance=True)
        try:
            async with create_sessionmaker(engine)() as session:
                await ResearcherRepository(session).rebuild_topics(researcher_ids)
                rows = {(r, t, n) for r, t, n in await session.execute(text(TOPICS))}
                await session.rollback()
                return rows
        finally:
            await engine.dispose()

    return asyncio.run(rebuild())


def assert_same_edges(got: Edges, expected: Edges) -> None:
    assert got.keys() == expected.keys()
    for pair, (weight, joint) in expected.items():
        assert got[pair][1] == joint, pair
        assert got[pair][0] == pytest.approx(weight, rel=1e-12), pair


def test_new_works_update_only_their_pairs_and_equal_a_rebuild(demo_settings: Settings) -> None:
    settings = demo_settings
    ids = researcher_ids(settings)
    before = stored_edges(settings)
    assert_same_edges(before, rebuilt_edges(settings))  # the demo starts consistent
    a, b, c, d, stranger = ids[0], ids[1], ids[2], ids[3], ids[-1]
    topics = [t for (t,) in sql(settings, "SELECT id FROM topics ORDER BY id")]
    topics_before = stored_topics(settings)
    workers = EmbeddedWorkers(settings)
    try:
        add_work(settings, "Two known co-authors and a newcomer", [a, b, stranger])
        add_work(settings, "A pair again", [a, b])
        add_work(settings, "Alone", [d])  # one author: no edge
        add_work(settings, "Four at once", [a, b, c, d], topic_ids=topics[:2])

        def applied() -> None:
            ((unprocessed,),) = sql(
                settings, "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"
            )
            assert unprocessed == 0

        eventually(applied, timeout=10)
    finally:
        workers.close()
    after = stored_edges(settings)
    assert_same_edges(after, rebuilt_edges(settings))
    # Topics were folded in, not rebuilt: the same as a recount, and they moved.
    assert stored_topics(settings) == rebuilt_topics(settings, ids) != topics_before
    # (a, b) gained 1/2 + 1/1 + 1/3 over three joint works; pairs of no new work are unchanged.
    gained = after[(a, b)][0] - before.get((a, b), (0.0, 0))[0]
    assert gained == pytest.approx(0.5 + 1.0 + 1 / 3)
    assert after[(a, b)][1] - before.get((a, b), (0.0, 0))[1] == 3
    assert after[(stranger, a)] == after[(a, stranger)]
    touched = {a, b, c, d, stranger}
    assert {p: e for p, e in after.items() if not set(p) & touched} == {
        p: e for p, e in before.items() if not set(p) & touched
    }
