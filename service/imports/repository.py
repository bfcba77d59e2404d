"""SQL of the integrator mutations (``importWorks``, ``addWork``) beyond what the OpenAlex
importer's store and the domain repositories already hold."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service.db.repository import chunked, is_postgresql
from service.topics.models import Topic
from service.works.models import Authorship, Venue, Work, WorkTopic

IN_LIST_SIZE = 2_000
IDENTIFIER_LOCKS = 0x425A_4957
"""First key of the advisory locks ``lock_identifiers`` takes (the two-key form, a key space
apart from the single-key locks on researcher ids)."""


class IntegratorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def works(self, ids: Sequence[int]) -> dict[int, Work]:
        """These works with their venues."""
        found: dict[int, Work] = {}
        for batch in chunked(sorted(set(ids)), IN_LIST_SIZE):
            stmt = (
                select(Work)
                .where(Work.id.in_(batch))
                .options(joinedload(Work.venue))
                .execution_options(populate_existing=True)  # rows the batch just updated
            )
            found.update((w.id, w) for w in (await self.session.execute(stmt)).unique().scalars())
        return found

    async def work(self, work_id: int) -> Work | None:
        return (await self.works([work_id])).get(work_id)

    async def work_with_doi(self, doi: str) -> Work | None:
        stmt = select(Work).where(Work.doi == doi).order_by(Work.id).limit(1)
        return await self.session.scalar(stmt)

    async def work_with_arxiv_id(self, arxiv_id: str) -> Work | None:
        stmt = select(Work).where(Work.arxiv_id == arxiv_id).order_by(Work.id).limit(1)
        return await self.session.scalar(stmt)

    async def venue_by_openalex_id(self, openalex_id: str) -> Venue | None:
        return await self.session.scalar(select(Venue).where(Venue.openalex_id == openalex_id))

    async def venue_by_issn_l(self, issn_l: str) -> Venue | None:
        stmt = select(Venue).where(Venue.issn_l == issn_l).order_by(Venue.id).limit(1)
        return await self.session.scalar(stmt)

    async def venue_by_name(self, display_name: str) -> Venue | None:
        """The oldest venue of this name, any capitalisation."""
        stmt = (
            select(Venue)
            .where(func.lower(Venue.display_name) == display_name.lower())
            .order_by(Venue.id)
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def topics_by_id(self, ids: Collection[int]) -> dict[int, Topic]:
        stmt = select(Topic).where(Topic.id.in_(sorted(set(ids))))
        return {t.id: t for t in await self.session.scalars(stmt)}

    async def topics_by_openalex_id(self, keys: Collection[str]) -> dict[str, Topic]:
        stmt = select(Topic).where(Topic.openalex_id.in_(sorted(set(keys))))
        return {t.openalex_id: t for t in await self.session.scalars(stmt) if t.openalex_id}

    async def lock_identifiers(self, identifiers: Collection[str]) -> None:
        """Serialize writers that check and then take these identifiers (a DOI, an ORCID iD):
        transaction-scoped advisory locks on PostgreSQL, in one order; SQLite has one writer."""
        if identifiers and is_postgresql(self.session):
            stmt = text(
                "SELECT pg_advisory_xact_lock(CAST(:space AS integer), hashtext(k)) "
                "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
            )
            await self.session.execute(
                stmt, {"space": IDENTIFIER_LOCKS, "keys": sorted(set(identifiers))}
            )

    def add(self, row: Work | Venue | Authorship | WorkTopic) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()
