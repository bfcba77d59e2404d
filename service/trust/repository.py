"""The facts the trust score is computed from, read in one statement per kind of fact for a
whole batch of researchers, and the snapshots written back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, true, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.accounts.models import Account
from service.claims.models import Claim, ClaimStatus, Vouch
from service.db.base import table_of
from service.db.repository import chunked, is_postgresql
from service.follows.models import Follow
from service.graph.models import CoauthorEdge
from service.researchers.models import Researcher
from service.trust.models import StaleTrust, TrustSnapshot
from service.trust.score import VerificationLevel
from service.works.models import Authorship, Work

STALE = table_of(StaleTrust)
ACTIVE_CLAIM = (ClaimStatus.PENDING, ClaimStatus.VERIFIED)
VERIFIED_LEVELS = (VerificationLevel.L3, VerificationLevel.L4)
IN_LIST_SIZE = 5_000
"""Ids per ``IN`` list: PostgreSQL's drivers take at most 32,767 parameters a statement."""


def _among(column: Any, ids: Sequence[int] | None) -> Any:
    """``column`` among ``ids``; everyone when None (a full recompute reads whole tables)."""
    return true() if ids is None else column.in_(ids)


class TrustRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def with_persistent_work(self, ids: Sequence[int] | None) -> set[int]:
        stmt = (
            select(Authorship.researcher_id)
            .join(Work, Work.id == Authorship.work_id)
            .where(
                _among(Authorship.researcher_id, ids),
                or_(
                    Work.doi.is_not(None), Work.arxiv_id.is_not(None), Work.openalex_id.is_not(None)
                ),
            )
            .distinct()
        )
        return set((await self.session.scalars(stmt)).all())

    async def claim_statuses(self, ids: Sequence[int] | None) -> dict[int, set[ClaimStatus]]:
        """Statuses of the active claims on each record by accounts with a confirmed email."""
        stmt = (
            select(Claim.researcher_id, Claim.status)
            .join(Account, Account.id == Claim.account_id)
            .where(
                _among(Claim.researcher_id, ids),
                Claim.status.in_(ACTIVE_CLAIM),
                Account.email_confirmed_at.is_not(None),
            )
        )
        statuses: dict[int, set[ClaimStatus]] = {}
        for researcher_id, status in await self.session.execute(stmt):
            statuses.setdefault(researcher_id, set()).add(status)
        return statuses

    async def close_collaborators(self, ids: Sequence[int] | None) -> dict[int, list[int]]:
        center = aliased(Researcher)
        coauthor = aliased(Researcher)
        stmt = (
            select(CoauthorEdge.researcher_id, CoauthorEdge.coauthor_id)
            .join(center, center.id == CoauthorEdge.researcher_id)
            .join(coauthor, coauthor.id == CoauthorEdge.coauthor_id)
            .where(
                _among(CoauthorEdge.researcher_id, ids), coauthor.cluster_id == center.cluster_id
            )
        )
        collaborators: dict[int, list[int]] = {}
        for researcher_id, coauthor_id in await self.session.execute(stmt):
            collaborators.setdefault(researcher_id, []).append(coauthor_id)
        return collaborators

    async def current_levels(self, ids: Sequence[int]) -> dict[int, VerificationLevel]:
        found: dict[int, VerificationLevel] = {}
        for batch in chunked(ids, IN_LIST_SIZE):  # a driver takes at most 32,767 parameters
            stmt = select(TrustSnapshot.researcher_id, TrustSnapshot.verification_level).where(
                TrustSnapshot.researcher_id.in_(batch), TrustSnapshot.is_current
            )
            found.update((await self.session.execute(stmt)).all())
        return found

    async def vouches_from_verified_coauthors(self, ids: Sequence[int] | None) -> dict[int, int]:
        """Vouches whose voucher is an L3+ record and a co-author of the vouched record."""
        stmt = (
            select(Vouch.researcher_id, Vouch.voucher_researcher_id)
            .join(
                CoauthorEdge,
                and_(
                    CoauthorEdge.researcher_id == Vouch.researcher_id,
                    CoauthorEdge.coauthor_id == Vouch.voucher_researcher_id,
                ),
            )
            .join(
                TrustSnapshot,
                and_(
                    TrustSnapshot.researcher_id == Vouch.voucher_researcher_id,
                    TrustSnapshot.is_current,
                ),
            )
            .where(
                _among(Vouch.researcher_id, ids),
                TrustSnapshot.verification_level.in_(VERIFIED_LEVELS),
            )
        )
        counts: dict[int, int] = {}
        for researcher_id, _ in await self.session.execute(stmt):
            counts[researcher_id] = counts.get(researcher_id, 0) + 1
        return counts

    async def followers(self, ids: Sequence[int] | None) -> dict[int, tuple[list[int], int]]:
        """Per researcher: the trust scores of the records its followers have verified claims
        on, and how many followers have no verified claim. Two grouped statements, so a
        researcher with thousands of followers costs rows only for the verified ones."""
        verified_claim = and_(
            Claim.account_id == Follow.account_id, Claim.status == ClaimStatus.VERIFIED
        )
        claimed = aliased(TrustSnapshot)
        verified_stmt = (
            select(Follow.researcher_id, claimed.score)
            .join(Claim, verified_claim)
            .outerjoin(
                claimed, and_(claimed.researcher_id == Claim.researcher_id, claimed.is_current)
            )
            .where(_among(Follow.researcher_id, ids))
        )
        unverified_stmt = (
            select(Follow.researcher_id, func.count())
            .where(
                _among(Follow.researcher_id, ids),
                ~select(Claim.id).where(verified_claim).exists(),
            )
            .group_by(Follow.researcher_id)
        )
        verified: dict[int, list[int]] = {}
        for researcher_id, score in await self.session.execute(verified_stmt):
            verified.setdefault(researcher_id, []).append(score or 0)
        unverified = dict((await self.session.execute(unverified_stmt)).all())
        return {
            rid: (verified.get(rid, []), int(unverified.get(rid, 0)))
            for rid in set(verified) | set(unverified)
        }

    async def current_snapshots(self, ids: Sequence[int] | None) -> dict[int, TrustSnapshot]:
        stmt = select(TrustSnapshot).where(
            _among(TrustSnapshot.researcher_id, ids), TrustSnapshot.is_current
        )
        return {s.researcher_id: s for s in (await self.session.scalars(stmt)).all()}

    async def replace_current(self, rows: Sequence[dict[str, object]]) -> None:
        """Store new current snapshots; the previous current ones become history."""
        if not rows:
            return
        ids = [row["researcher_id"] for row in rows]
        await self.session.execute(
            update(TrustSnapshot)
            .where(TrustSnapshot.researcher_id.in_(ids), TrustSnapshot.is_current)
            .values(is_current=False)
        )
        await self.session.execute(insert(TrustSnapshot), list(rows))

    async def history(
        self, researcher_ids: Sequence[int], limit: int
    ) -> dict[int, list[TrustSnapshot]]:
        stmt = (
            select(TrustSnapshot)
            .where(TrustSnapshot.researcher_id.in_(researcher_ids))
            .order_by(
                TrustSnapshot.researcher_id,
                TrustSnapshot.computed_at.desc(),
                TrustSnapshot.id.desc(),
            )
        )
        grouped: dict[int, list[TrustSnapshot]] = {rid: [] for rid in researcher_ids}
        for snapshot in (await self.session.scalars(stmt)).all():
            if len(grouped[snapshot.researcher_id]) < limit:
                grouped[snapshot.researcher_id].append(snapshot)
        return grouped

    async def mark_stale(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                insert(STALE), [{"researcher_id": rid} for rid in sorted(set(ids))]
            )

    async def take_stale(self, limit: int) -> list[int]:
        """Remove up to ``limit`` of the oldest recompute requests and return their distinct
        researchers; requests another transaction is taking are skipped (PostgreSQL)."""
        oldest = select(STALE.c.id).order_by(STALE.c.id).limit(limit)
        if is_postgresql(self.session):
            oldest = oldest.with_for_update(skip_locked=True)
        stmt = (
            delete(STALE)
            .where(STALE.c.id.in_(oldest.scalar_subquery()))
            .returning(STALE.c.researcher_id)
        )
        return sorted(set((await self.session.scalars(stmt)).all()))

    async def lock_for_recompute(self, ids: Sequence[int]) -> None:
        """Serialize recomputes of one record (its current snapshot is unique) with a
        transaction-scoped advisory lock, not the researcher's row lock: follow events keep
        moving the counters while trust is computed. SQLite has one writer."""
        if ids and is_postgresql(self.session):
            stmt = text(
                "SELECT pg_advisory_xact_lock(id) FROM unnest(CAST(:ids AS bigint[])) AS t(id)"
            )
            await self.session.execute(stmt, {"ids": sorted(set(ids))})

    async def oldest_stale_request(self) -> dt.datetime | None:
        return await self.session.scalar(select(func.min(StaleTrust.requested_at)))

    async def dependents(self, ids: Sequence[int], *, collaborators: bool = True) -> list[int]:
        """Researchers whose trust reads the score or level of one of ``ids``: those followed
        by the account that verified one of them (follower weight), their close collaborators
        (collaboration factor; left out with ``collaborators=False``, after a full recompute
        that read every level afresh) and those they vouched for (L4)."""
        found: set[int] = set()
        for batch in chunked(ids, IN_LIST_SIZE):  # three IN lists of the batch each
            found.update(await self._dependents(batch, collaborators))
        return sorted(found)

    async def _dependents(self, ids: Sequence[int], collaborators: bool) -> list[int]:
        followed = (
            select(Follow.researcher_id)
            .join(Claim, Claim.account_id == Follow.account_id)
            .where(Claim.researcher_id.in_(ids), Claim.status == ClaimStatus.VERIFIED)
        )
        center = aliased(Researcher)
        coauthor = aliased(Researcher)
        close = (
            select(CoauthorEdge.coauthor_id)
            .join(center, center.id == CoauthorEdge.researcher_id)
            .join(coauthor, coauthor.id == CoauthorEdge.coauthor_id)
            .where(CoauthorEdge.researcher_id.in_(ids), coauthor.cluster_id == center.cluster_id)
        )
        vouched = select(Vouch.researcher_id).where(Vouch.voucher_researcher_id.in_(ids))
        stmt = union(followed, close, vouched) if collaborators else union(followed, vouched)
        return list((await self.session.scalars(stmt)).all())
