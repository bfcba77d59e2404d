"""Recompute every derived number from the source tables, in dependency order. Used when demo
data is loaded and by ``bzpeer recompute --all``: the oracle the event-driven workers must agree
with."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from service.config import Settings
from service.db.unit_of_work import derive_session, is_serialization_failure
from service.events.service import events
from service.graph.service import coauthor_graph
from service.researchers.service import researchers
from service.search.pending import index_pending
from service.trust.service import trust


async def recompute_all(
    session: AsyncSession, *, seed: int, affiliations: Subquery | None = None
) -> None:
    """Everything derived, from the source tables. The caller's transaction must read one
    snapshot while no event worker writes (``service.db.unit_of_work.derive_session``): the
    events it marks processed first are exactly those whose changes its reads include.
    ``affiliations``: (researcher_id, institution_id) rows the researchers' rewrite also
    writes (a bulk import's rule for authors known only from works)."""
    await events.subsume_pending(session)
    await coauthor_graph.rebuild_edges(session)
    await coauthor_graph.recluster(session, seed=seed, announce=False, from_scratch=True)
    await researchers.recompute_everyone(session, affiliations)
    await trust.recompute_everyone(session)


ATTEMPTS = 5
"""A recompute runs again when PostgreSQL refuses its snapshot (another writer changed a row
it read)."""


async def recompute_everything(
    settings: Settings,
    also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    affiliations: Subquery | None = None,
) -> None:
    """``recompute_all`` in a session of its own (``bzpeer recompute --all``, the end of a bulk
    import), committed; ``also`` writes in the same transaction (what the recompute settles).

    Meanwhile, on connections of their own, the search index a bulk import left pending is
    built (``service.search.pending``): the recompute keeps one core of PostgreSQL busy, this
    the other. The recompute commits only once it is done, so that what it settles (an
    import's marks, its ``imports.completed``) comes with works and researchers that can be
    found."""
    indexing = asyncio.ensure_future(index_pending(settings))
    try:
        for attempt in range(ATTEMPTS):
            try:
                async with derive_session(settings) as session:
                    await recompute_all(
                        session, seed=settings.cluster_seed, affiliations=affiliations
                    )
                    await indexing
                    if also is not None:
                        await also(session)
                return
            except DBAPIError as error:
                # A profile edit or a scheduled recluster changed a row we read: again, from
                # a newer snapshot.
                if not is_serialization_failure(error) or attempt == ATTEMPTS - 1:
                    raise
    finally:
        if not indexing.done():
            indexing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await indexing
