from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Account
from service.db.paging import (
    Ordering,
    Page,
    PageRequest,
    build_page,
    page_parameters,
    page_shape,
    paged,
    statement,
)
from service.follows.models import Follow
from service.researchers.models import Researcher
from service.researchers.repository import BY_NAME, shown_with

BY_FOLLOW_KEY = Ordering("followers", (Follow.cursor_key,), cursor_types=(int,))


class FollowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, account_id: int, researcher_id: int) -> bool:
        stmt = select(Follow.account_id).where(
            Follow.account_id == account_id, Follow.researcher_id == researcher_id
        )
        return (await self.session.scalar(stmt)) is not None

    async def followed_among(self, account_id: int, researcher_ids: Sequence[int]) -> set[int]:
        stmt = select(Follow.researcher_id).where(
            Follow.account_id == account_id, Follow.researcher_id.in_(researcher_ids)
        )
        return set((await self.session.scalars(stmt)).all())

    async def delete(self, account_id: int, researcher_id: int) -> bool:
        result = await self.session.execute(
            delete(Follow).where(
                Follow.account_id == account_id, Follow.researcher_id == researcher_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def following_page(self, account_id: int, page: PageRequest) -> Page[Researcher]:
        stmt = statement(
            ("follows.following", page_shape(page)),
            lambda: paged(
                select(Researcher)
                .join(Follow, Follow.researcher_id == Researcher.id)
                .where(Follow.account_id == bindparam("account_id"))
                .options(*shown_with(Researcher)),
                BY_NAME,
                page,
            ),
        )
        values = {**page_parameters(page), "account_id": account_id}
        rows = (await self.session.execute(stmt, values)).unique().all()
        return build_page([(row[0], tuple(row[1:])) for row in rows], page)

    async def count_following(self, account_id: int) -> int:
        stmt = select(func.count()).select_from(Follow).where(Follow.account_id == account_id)
        return int(await self.session.scalar(stmt) or 0)

    async def follower_page(self, researcher_id: int, page: PageRequest) -> Page[Account]:
        stmt = statement(
            ("follows.followers", page_shape(page)),
            lambda: paged(
                select(Account)
                .join(Follow, Follow.account_id == Account.id)
                .where(Follow.researcher_id == bindparam("researcher_id")),
                BY_FOLLOW_KEY,
                page,
            ),
        )
        values = {**page_parameters(page), "researcher_id": researcher_id}
        rows = (await self.session.execute(stmt, values)).all()
        return build_page([(row[0], tuple(row[1:])) for row in rows], page)

    async def count_followers(self, researcher_id: int) -> int:
        stmt = select(func.count()).select_from(Follow).where(Follow.researcher_id == researcher_id)
        return int(await self.session.scalar(stmt) or 0)
