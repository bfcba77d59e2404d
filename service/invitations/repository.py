from __future__ import annotations

from sqlalchemy import bindparam, func, select

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
from service.db.repository import RepositoryBase
from service.invitations.models import Invitation

BY_NEWEST = Ordering("invitations", (Invitation.id,), cursor_types=(int,))


class InvitationRepository(RepositoryBase[Invitation]):
    model = Invitation

    async def received_page(self, researcher_id: int, page: PageRequest) -> Page[Invitation]:
        stmt = statement(
            ("invitations.received", page_shape(page)),
            lambda: paged(
                select(Invitation).where(Invitation.to_researcher_id == bindparam("researcher_id")),
                BY_NEWEST,
                page,
            ),
        )
        values = {**page_parameters(page), "researcher_id": researcher_id}
        rows = (await self.session.execute(stmt, values)).all()
        return build_page([(row[0], tuple(row[1:])) for row in rows], page)

    async def count_received(self, researcher_id: int) -> int:
        stmt = select(func.count()).where(Invitation.to_researcher_id == researcher_id)
        return int(await self.session.scalar(stmt) or 0)
