from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from service.db.paging import (
    PARENT_IDS,
    Ordering,
    Page,
    PageRequest,
    group_pages,
    page_parameters,
    page_shape,
    paged_per_parent,
    statement,
)
from service.db.repository import RepositoryBase, is_postgresql, member_of
from service.researchers.models import Researcher
from service.topics.models import Topic
from service.works.models import Authorship, Venue, Work, WorkTopic

BY_RECENCY = Ordering(
    "works", (func.coalesce(Work.publication_year, 0), Work.id), cursor_types=(int, int)
)
BY_TOPIC_SCORE = Ordering(
    "wtopic", (WorkTopic.score, WorkTopic.topic_id), cursor_types=((float, int), int)
)


class ListedWork(NamedTuple):
    title: str
    type: str
    publication_year: int | None
    cited_by_count: int
    venue_id: int | None
    venue_name: str | None


class ListedAuthor(NamedTuple):
    position: int
    researcher_id: int
    display_name: str
    merged_into_id: int | None


class VenueRepository(RepositoryBase[Venue]):
    model = Venue


class WorkRepository(RepositoryBase[Work]):
    model = Work

    def base_select(self) -> Select[Work]:
        return select(Work).options(joinedload(Work.venue))

    async def work_pages_by_researcher(
        self, researcher_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[Work]]:
        """Each researcher's works, newest first."""
        stmt = statement(
            ("works.by_researcher", page_shape(page)),
            lambda: paged_per_parent(
                select(Work)
                .join(Authorship, Authorship.work_id == Work.id)
                .where(Authorship.researcher_id.in_(PARENT_IDS)),
                Work,
                parent=Authorship.researcher_id,
                ordering=BY_RECENCY,
                page=page,
                options=[lambda alias: joinedload(alias.venue)],
            ),
        )
        values = page_parameters(page, researcher_ids)
        rows = (await self.session.execute(stmt, values)).unique().all()
        return group_pages(rows, researcher_ids, page)

    async def count_works_by_researcher(self, researcher_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_grouped(Authorship.researcher_id, researcher_ids)

    async def authorships_by_work(self, work_ids: Sequence[int]) -> dict[int, list[Authorship]]:
        """Author lists in order, with each authorship's institutions (two statements)."""
        stmt = (
            select(Authorship)
            .where(Authorship.work_id.in_(work_ids))
            .options(selectinload(Authorship.institutions))
            .order_by(Authorship.work_id, Authorship.position)
        )
        grouped: dict[int, list[Authorship]] = {wid: [] for wid in work_ids}
        for authorship in (await self.session.execute(stmt)).scalars():
            grouped[authorship.work_id].append(authorship)
        return grouped

    async def topic_pages_by_work(
        self, work_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[Topic]]:
        stmt = statement(
            ("works.topics", page_shape(page)),
            lambda: paged_per_parent(
                select(Topic)
                .join(WorkTopic, WorkTopic.topic_id == Topic.id)
                .where(WorkTopic.work_id.in_(PARENT_IDS)),
                Topic,
                parent=WorkTopic.work_id,
                ordering=BY_TOPIC_SCORE,
                page=page,
            ),
        )
        rows = (await self.session.execute(stmt, page_parameters(page, work_ids))).all()
        return group_pages(rows, work_ids, page)

    async def listed(self, work_ids: Sequence[int]) -> dict[int, ListedWork]:
        """What a list of works shows of each (title, type, year, citations, venue), in one
        statement whose text is the same for any number of ids (PostgreSQL)."""
        arrays = is_postgresql(self.session)
        stmt = statement(
            ("works.listed", arrays),
            lambda: (
                select(
                    Work.id,
                    Work.title,
                    Work.type,
                    Work.publication_year,
                    Work.cited_by_count,
                    Venue.id,
                    Venue.display_name,
                )
                .outerjoin(Venue, Venue.id == Work.venue_id)
                .where(member_of(Work.id, "ids", arrays))
            ),
        )
        rows = await self.session.execute(stmt, {"ids": list(work_ids)})
        return {row[0]: ListedWork(*row[1:]) for row in rows}

    async def listed_authors(self, work_ids: Sequence[int]) -> dict[int, list[ListedAuthor]]:
        """Each work's author list in order, with each author's name, in one statement."""
        arrays = is_postgresql(self.session)
        stmt = statement(
            ("works.listed_authors", arrays),
            lambda: (
                select(
                    Authorship.work_id,
                    Authorship.position,
                    Researcher.id,
                    Researcher.display_name,
                    Researcher.merged_into_id,
                )
                .join(Researcher, Researcher.id == Authorship.researcher_id)
                .where(member_of(Authorship.work_id, "ids", arrays))
                .order_by(Authorship.work_id, Authorship.position)
            ),
        )
        grouped: dict[int, list[ListedAuthor]] = {wid: [] for wid in work_ids}
        for row in await self.session.execute(stmt, {"ids": list(work_ids)}):
            grouped[row[0]].append(ListedAuthor(*row[1:]))
        return grouped

    async def count_topics_by_work(self, work_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_grouped(WorkTopic.work_id, work_ids)

    async def author_lists(self) -> list[list[int]]:
        """Every work's researcher ids, for building the co-author graph."""
        stmt = select(Authorship.work_id, Authorship.researcher_id).order_by(Authorship.work_id)
        lists: dict[int, list[int]] = {}
        for work_id, researcher_id in await self.session.execute(stmt):
            lists.setdefault(work_id, []).append(researcher_id)
        return list(lists.values())
