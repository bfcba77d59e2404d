"""The graph slice read with LATERAL subqueries and array parameters (PostgreSQL's statements)
equals the slice read with the window-function statements every database runs (and the slice
had before them), node for node, score for score and edge for edge, on fixed random graphs
with supernodes, hubs and tied weights."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import create_engine, create_sessionmaker
from service.graph.models import CoauthorEdge
from service.graph.neighbourhood import NeighbourhoodRepository
from service.graph.service import GraphSliceService
from service.graph.slice import GraphSlice, NodeKey, NodeKind
from service.institutions.models import Institution
from service.researchers.models import Researcher, ResearcherTopic
from service.topics.models import Topic
from service.works.models import Authorship, Work, WorkTopic
from tests.support import count_statements, create_database, drop_database, settings_for

RESEARCHERS, WORKS, TOPICS, INSTITUTIONS = 240, 600, 24, 6
PROLIFIC = 1
"""The first researcher authors 80 works and has a co-author edge to a third of everyone: a
supernode whose neighbours the fanout caps."""
CROWDED = 1
"""The first work has 40 authors."""


async def _populate(session: AsyncSession, seed: int) -> None:
    rng = random.Random(seed)
    session.add_all(Institution(id=i, display_name=f"Inst {i}") for i in range(1, 1 + INSTITUTIONS))
    session.add_all(Topic(id=t, display_name=f"Topic {t}") for t in range(1, 1 + TOPICS))
    await session.flush()
    session.add_all(
        Researcher(
            id=r,
            display_name=f"R {r}",
            search_name=f"r {r}",
            affiliation_id=rng.choice([None, *range(1, 1 + INSTITUTIONS)]),
            works_count=rng.randrange(0, 4),  # ties in the members' order
        )
        for r in range(1, 1 + RESEARCHERS)
    )
    session.add_all(Work(id=w, title=f"W {w}") for w in range(1, 1 + WORKS))
    await session.flush()
    for w in range(1, 1 + WORKS):
        size = 40 if w == CROWDED else rng.randrange(1, 6)
        authors = rng.sample(range(2, 1 + RESEARCHERS), size)
        if w % 7 == 0 or w <= 80:
            authors[0] = PROLIFIC
        for position, r in enumerate(dict.fromkeys(authors), start=1):
            session.add(Authorship(work_id=w, researcher_id=r, position=position))
        for t in rng.sample(range(1, 1 + TOPICS), rng.randrange(0, 4)):
            session.add(WorkTopic(work_id=w, topic_id=t, score=rng.choice([0.5, 0.9, 1.0])))
    pairs = {(PROLIFIC, r) for r in range(2, 1 + RESEARCHERS, 3)}
    for _ in range(900):
        a, b = sorted(rng.sample(range(2, 1 + RESEARCHERS), 2))
        pairs.add((a, b))
    for a, b in sorted(pairs):
        weight = rng.choice([0.25, 0.5, 1.0, 1.5])  # few values: many ties
        session.add(CoauthorEdge(researcher_id=a, coauthor_id=b, weight=weight, joint_works=1))
        session.add(CoauthorEdge(researcher_id=b, coauthor_id=a, weight=weight, joint_works=1))
    for r in range(1, 1 + RESEARCHERS):
        for t in rng.sample(range(1, 1 + TOPICS), rng.randrange(0, 6)):
            session.add(
                ResearcherTopic(researcher_id=r, topic_id=t, work_count=rng.randrange(1, 4))
            )


@pytest.fixture(scope="module")
def graph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_database("postgresql", Path(tmp_path_factory.mktemp("neighbourhood")))

    async def populate() -> None:
        engine = create_engine(settings_for(url), maintenance=True)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                await _populate(session, seed=20261130)
        finally:
            await engine.dispose()

    asyncio.run(populate())
    yield url
    drop_database(url)


CENTERS: list[NodeKey] = [
    (NodeKind.RESEARCHER, PROLIFIC),
    *((NodeKind.RESEARCHER, r) for r in (2, 3, 17, 58, 121, 200, 239)),
    (NodeKind.WORK, CROWDED),
    *((NodeKind.WORK, w) for w in (7, 81, 333, 599)),
    *((NodeKind.TOPIC, t) for t in (1, 12)),
    *((NodeKind.INSTITUTION, i) for i in (1, 4)),
]
SHAPES = [(1, 50, 25), (2, 50, 25), (2, 20, 4), (3, 100, 6), (2, 200, 25)]
"""(depth, limit, fanout)."""


def slices(url: str, arrays: bool) -> tuple[dict[tuple[NodeKey, int, int, int], GraphSlice], int]:
    service = GraphSliceService(lambda session: NeighbourhoodRepository(session, arrays=arrays))

    async def read() -> tuple[dict[tuple[NodeKey, int, int, int], GraphSlice], int]:
        engine = create_engine(settings_for(url))
        found: dict[tuple[NodeKey, int, int, int], GraphSlice] = {}
        try:
            with count_statements(engine) as statements:
                async with create_sessionmaker(engine)() as session:
                    for center in CENTERS:
                        for depth, limit, fanout in SHAPES:
                            found[(center, depth, limit, fanout)] = await service.graph_slice(
                                session, center, depth=depth, limit=limit, fanout=fanout
                            )
            return found, len(statements)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_lateral_and_window_statements_give_the_same_slices(graph_url: str) -> None:
    lateral, lateral_statements = slices(graph_url, arrays=True)
    window, window_statements = slices(graph_url, arrays=False)
    assert lateral.keys() == window.keys()
    for key, expected in window.items():
        assert lateral[key] == expected, key
    # The fixture exercises what the comparison is about: capped supernodes, hubs, cuts.
    assert any(s.truncated for s in window.values())
    assert any(not s.truncated for s in window.values())
    prolific = window[((NodeKind.RESEARCHER, PROLIFIC), 2, 200, 25)]
    assert len(prolific.nodes) > 100
    assert {kind for (kind, _), _ in prolific.nodes} == set(NodeKind)
    assert lateral_statements == window_statements


def test_a_slice_at_any_width_runs_the_same_statements(graph_url: str) -> None:
    """Array parameters keep one text per statement (so its prepared statement is reused)."""

    async def texts(center: NodeKey, limit: int) -> set[str]:
        engine = create_engine(settings_for(graph_url))
        try:
            with count_statements(engine) as statements:
                async with create_sessionmaker(engine)() as session:
                    await GraphSliceService().graph_slice(
                        session, center, depth=2, limit=limit, fanout=25
                    )
            return set(statements)
        finally:
            await engine.dispose()

    narrow = asyncio.run(texts((NodeKind.RESEARCHER, 17), 10))
    wide = asyncio.run(texts((NodeKind.RESEARCHER, PROLIFIC), 200))
    assert len(narrow) >= 8
    assert narrow <= wide
