"""The co-author edges the database builds agree with the pure Newman-weight function."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from service.db.engine import create_engine, create_sessionmaker
from service.graph.clustering import coauthor_pairs
from service.graph.models import CoauthorEdge
from service.graph.service import coauthor_graph
from service.works.repository import WorkRepository
from tests.support import settings_for


def run(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        engine = create_engine(settings_for(url))
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def stored_edges(session: Any) -> dict[tuple[int, int], tuple[float, int]]:
    rows = await session.execute(select(CoauthorEdge))
    return {(e.researcher_id, e.coauthor_id): (e.weight, e.joint_works) for e in rows.scalars()}


class TestRebuildEdges:
    def test_agrees_with_the_pure_function_on_the_demo(self, demo_url: str) -> None:
        async def compare(session: Any) -> None:
            expected = coauthor_pairs(await WorkRepository(session).author_lists())
            edges = await stored_edges(session)
            assert len(edges) == 2 * len(expected)
            for (a, b), stats in expected.items():
                for key in ((a, b), (b, a)):
                    weight, joint = edges[key]
                    assert weight == pytest.approx(stats.weight)
                    assert joint == stats.joint_works

        run(demo_url, compare)

    def test_single_author_works_add_no_edge(self, empty_url: str) -> None:
        statements = [
            "INSERT INTO researchers (id, display_name, search_name, open_to_collaborate, "
            "works_count, followers_count, topics_count, close_collaborators_count, created_at, "
            "updated_at) VALUES "
            + ", ".join(
                f"({i}, 'R{i}', 'r{i}', false, 0, 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                for i in (1, 2, 3)
            ),
            "INSERT INTO works (id, title, type, cited_by_count, created_at, updated_at) VALUES "
            + ", ".join(
                f"({i}, 'W{i}', 'ARTICLE', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                for i in (1, 2, 3)
            ),
            # W1: R1 alone. W2: R1, R2, R3 (weight 1/2 per pair). W3: R1, R2 (weight 1).
            "INSERT INTO authorships (work_id, researcher_id, position) VALUES "
            "(1, 1, 1), (2, 1, 1), (2, 2, 2), (2, 3, 3), (3, 1, 1), (3, 2, 2)",
        ]

        async def build(session: Any) -> dict[tuple[int, int], tuple[float, int]]:
            for statement in statements:
                await session.execute(text(statement))
            assert await coauthor_graph.rebuild_edges(session) == 3
            return await stored_edges(session)

        edges = run(empty_url, build)
        assert edges[(1, 2)] == edges[(2, 1)] == pytest.approx((1.5, 2))
        assert edges[(1, 3)] == pytest.approx((0.5, 1))
        assert edges[(2, 3)] == pytest.approx((0.5, 1))
        assert len(edges) == 6
