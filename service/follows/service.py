"""Follow and unfollow: idempotent, each real change with its event. Never commits."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Account
from service.events.service import emit
from service.follows.models import Follow
from service.follows.repository import FollowRepository
from service.researchers.models import Researcher


class FollowService:
    async def follow(self, session: AsyncSession, account: Account, researcher: Researcher) -> bool:
        """Follow ``researcher``; False (and no event) when already followed."""
        repository = FollowRepository(session)
        if await repository.exists(account.id, researcher.id):
            return False
        try:
            async with session.begin_nested():
                session.add(Follow(account_id=account.id, researcher_id=researcher.id))
        except IntegrityError:  # a concurrent request followed first
            return False
        emit(session, "follows.created", account_id=account.id, researcher_id=researcher.id)
        return True

    async def unfollow(
        self, session: AsyncSession, account: Account, researcher: Researcher
    ) -> bool:
        if not await FollowRepository(session).delete(account.id, researcher.id):
            return False
        emit(session, "follows.deleted", account_id=account.id, researcher_id=researcher.id)
        return True


follows = FollowService()
