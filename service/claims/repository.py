from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update

from service.claims.models import Claim, ClaimStatus, Vouch
from service.db.repository import RepositoryBase
from service.graph.models import CoauthorEdge
from service.institutions.models import InstitutionDomain
from service.researchers.models import Researcher
from service.works.models import Authorship, AuthorshipInstitution, Work

ACTIVE = (ClaimStatus.PENDING, ClaimStatus.VERIFIED)


class ClaimRepository(RepositoryBase[Claim]):
    model = Claim

    async def active_claim_of_account(self, account_id: int) -> Claim | None:
        stmt = (
            select(Claim)
            .where(Claim.account_id == account_id, Claim.status.in_(ACTIVE))
            .order_by(Claim.status.desc(), Claim.id.desc())  # VERIFIED sorts before PENDING
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def active_claims_of_accounts(self, account_ids: Sequence[int]) -> dict[int, Claim]:
        stmt = select(Claim).where(Claim.account_id.in_(account_ids), Claim.status.in_(ACTIVE))
        found: dict[int, Claim] = {}
        for claim in (await self.session.scalars(stmt)).all():
            current = found.get(claim.account_id)
            if current is None or claim.status is ClaimStatus.VERIFIED:
                found[claim.account_id] = claim
        return found

    async def verified_claimants(self, researcher_ids: Sequence[int]) -> dict[int, int]:
        """Researcher id -> the account id of its verified claimant."""
        stmt = select(Claim.researcher_id, Claim.account_id).where(
            Claim.researcher_id.in_(researcher_ids), Claim.status == ClaimStatus.VERIFIED
        )
        return {rid: aid for rid, aid in (await self.session.execute(stmt)).all()}

    async def expire_pending(self, account_id: int, researcher_id: int) -> None:
        await self.session.execute(
            update(Claim)
            .where(
                Claim.account_id == account_id,
                Claim.researcher_id == researcher_id,
                Claim.status == ClaimStatus.PENDING,
            )
            .values(status=ClaimStatus.EXPIRED)
        )

    async def take_overdue(self, now: dt.datetime, limit: int) -> list[Claim]:
        """Pending claims whose code has expired, locked (others' locked rows skipped: a
        claim being verified right now is not expired under it)."""
        stmt = (
            select(Claim)
            .where(Claim.status == ClaimStatus.PENDING, Claim.expires_at <= now)
            .order_by(Claim.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(stmt)).all())

    async def institution_domains(self, researcher_id: int, since_year: int) -> set[str]:
        """Web domains of the record's affiliation and of the institutions its works published
        from ``since_year`` on give."""
        through_works = (
            select(InstitutionDomain.domain)
            .join(
                AuthorshipInstitution,
                AuthorshipInstitution.institution_id == InstitutionDomain.institution_id,
            )
            .join(Authorship, Authorship.id == AuthorshipInstitution.authorship_id)
            .join(Work, Work.id == Authorship.work_id)
            .where(Authorship.researcher_id == researcher_id, Work.publication_year >= since_year)
        )
        through_affiliation = (
            select(InstitutionDomain.domain)
            .join(Researcher, Researcher.affiliation_id == InstitutionDomain.institution_id)
            .where(Researcher.id == researcher_id)
        )
        stmt = through_works.union(through_affiliation)
        return set((await self.session.scalars(stmt)).all())

    async def address_verified(self, digest: str) -> bool:
        """Whether an address (by ``address_digest``) has verified a record."""
        stmt = select(Claim.id).where(
            Claim.evidence_hash == digest, Claim.status == ClaimStatus.VERIFIED
        )
        return (await self.session.scalar(stmt.limit(1))) is not None

    async def are_coauthors(self, a: int, b: int) -> bool:
        stmt = select(CoauthorEdge.weight).where(
            CoauthorEdge.researcher_id == a, CoauthorEdge.coauthor_id == b
        )
        return (await self.session.scalar(stmt)) is not None

    async def vouch_exists(self, voucher_researcher_id: int, researcher_id: int) -> bool:
        stmt = select(Vouch.id).where(
            Vouch.voucher_researcher_id == voucher_researcher_id,
            Vouch.researcher_id == researcher_id,
        )
        return (await self.session.scalar(stmt)) is not None
