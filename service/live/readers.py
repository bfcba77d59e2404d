"""How the hub reads the values subscribers watch: one statement per topic for every researcher
that changed, whoever watches them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.live.topics import Topic
from service.researchers.repository import ResearcherRepository
from service.trust.repository import TrustRepository


async def follower_counts(
    session: AsyncSession, researcher_ids: list[int]
) -> Mapping[int, tuple[Hashable, Any]]:
    """Researchers, stamped with their follower count."""
    found = await ResearcherRepository(session).list_by_ids(researcher_ids)
    return {r.id: (r.followers_count, r) for r in found}


async def trust_snapshots(
    session: AsyncSession, researcher_ids: list[int]
) -> Mapping[int, tuple[Hashable, Any]]:
    """Current trust snapshots, stamped with their id (a new snapshot is a new row)."""
    found = await TrustRepository(session).current_snapshots(researcher_ids)
    return {rid: (snapshot.id, snapshot) for rid, snapshot in found.items()}


READERS = {Topic.FOLLOWERS: follower_counts, Topic.TRUST: trust_snapshots}
